import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileCheckpointer } from './file.checkpointer';
import { LedgerConfigError } from './ledger.errors';

describe('FileCheckpointer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'checkpoint-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts empty and resumes from what it saved', async () => {
    const path = join(dir, 'sub', 'events.json');
    const first = await FileCheckpointer.open(path);
    expect(first.getBlockNumber()).toBeUndefined();
    expect(first.getTransactionId()).toBeUndefined();

    await first.checkpointChaincodeEvent({
      blockNumber: 7n,
      transactionId: 'tx-a',
      chaincodeName: 'decenter',
      eventName: 'JobCreated',
      payload: new Uint8Array(),
    });
    const reopened = await FileCheckpointer.open(path);
    expect(reopened.getBlockNumber()).toBe(7n);
    expect(reopened.getTransactionId()).toBe('tx-a');

    await reopened.checkpointBlock(7n);
    const afterBlock = await FileCheckpointer.open(path);
    expect(afterBlock.getBlockNumber()).toBe(8n);
    expect(afterBlock.getTransactionId()).toBeUndefined();
  });

  it('replaces the file by rename, leaving no temporary file behind', async () => {
    const path = join(dir, 'events.json');
    const checkpointer = await FileCheckpointer.open(path);
    await checkpointer.checkpointTransaction(3n, 'tx-b');
    await checkpointer.checkpointTransaction(4n, 'tx-c');
    expect(await readdir(dir)).toEqual(['events.json']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ blockNumber: '4', transactionId: 'tx-c' });
  });

  it('refuses a malformed checkpoint and says how to recover', async () => {
    const path = join(dir, 'events.json');
    await writeFile(path, '{"blockNumber": -1}');
    await expect(FileCheckpointer.open(path)).rejects.toThrow(LedgerConfigError);
    await expect(FileCheckpointer.open(path)).rejects.toMatchObject({
      hint: expect.stringMatching(/Delete/),
    });
  });
});
