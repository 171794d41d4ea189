import { peer } from '@hyperledger/fabric-protos';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signLowS } from '../identity/ecdsa';
import { CommitterService, type OrderedTx } from './committer.service';
import { LedgerRepository, type BlockCommit } from './ledger.repository';

/** A real ledger whose block writes take `delayMs` longer, to hold the committer busy. */
class SlowLedger extends LedgerRepository {
  delayMs = 0;
  readonly committedAt: number[] = [];

  override async commit(commit: BlockCommit): Promise<void> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    await super.commit(commit);
    this.committedAt.push(performance.now());
  }
}

function tx(txId: string, key: string): OrderedTx {
  return {
    txId,
    envelope: Buffer.from(txId),
    timestamp: undefined,
    rwsets: [{ ns: 'cc', reads: [], ranges: [], writes: [{ key, value: Buffer.from(txId) }] }],
    event: undefined,
    preValidationCode: peer.TxValidationCode.VALID,
  };
}

describe('CommitterService block cutting', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let dir: string;
  let ledger: SlowLedger;
  let committer: CommitterService | null = null;
  let expectMore = false;

  const start = async (blockSize: number, blockTimeoutMs: number): Promise<CommitterService> => {
    committer = new CommitterService(ledger, {
      channel: 'ch',
      blockSize,
      blockTimeoutMs,
      signer: { creator: Buffer.from('orderer'), sign: (message) => signLowS(privateKey, message) },
      expectMore: () => expectMore,
      log: () => undefined,
    });
    await committer.init();
    return committer;
  };
  const committed = (service: CommitterService, txId: string) =>
    service.waitForCommit(txId, new AbortController().signal);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'committer-'));
    ledger = new SlowLedger(join(dir, 'ledger'));
    await ledger.open();
    expectMore = false;
  });

  afterEach(async () => {
    await committer?.close();
    committer = null;
    await ledger.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('cuts at once when no endorsed transaction is expected, whatever the timeout', async () => {
    const service = await start(10, 60_000);
    const began = performance.now();
    service.enqueue(tx('a', 'k1'));
    expect(await committed(service, 'a')).toMatchObject({ blockNum: 1, code: peer.TxValidationCode.VALID });
    expect(performance.now() - began).toBeLessThan(5_000);
  });

  it('waits for expected transactions until the block timeout, then commits them together', async () => {
    const service = await start(10, 300);
    expectMore = true;
    const began = performance.now();
    service.enqueue(tx('a', 'k1'));
    service.enqueue(tx('b', 'k2'));
    const [a, b] = await Promise.all([committed(service, 'a'), committed(service, 'b')]);
    expect(performance.now() - began).toBeGreaterThanOrEqual(290);
    expect([a.blockNum, b.blockNum]).toEqual([1, 1]);
  });

  it('cuts a full block without waiting', async () => {
    const service = await start(2, 60_000);
    expectMore = true;
    const began = performance.now();
    service.enqueue(tx('a', 'k1'));
    service.enqueue(tx('b', 'k2'));
    service.enqueue(tx('c', 'k3'));
    const [a, b] = await Promise.all([committed(service, 'a'), committed(service, 'b')]);
    expect([a.blockNum, b.blockNum]).toEqual([1, 1]);
    expect(performance.now() - began).toBeLessThan(5_000);
    expect(service.isPending('c')).toBe(true);
  });

  it('counts the timeout from arrival: a transaction that waited out a slow commit is cut when it ends', async () => {
    const service = await start(10, 500);
    expectMore = true;
    ledger.delayMs = 800;
    service.enqueue(tx('a', 'k1'));
    // 'b' arrives while block 1 is being written (cut at ~500 ms, written until ~1300 ms).
    await new Promise((resolve) => setTimeout(resolve, 600));
    service.enqueue(tx('b', 'k2'));
    const first = await committed(service, 'a');
    const second = await committed(service, 'b');
    expect([first.blockNum, second.blockNum]).toEqual([1, 2]);
    const [firstAt, secondAt] = ledger.committedAt.slice(-2) as [number, number];
    // Block 2 is written right after block 1 (800 ms), not after a new 500 ms wait on top.
    expect(secondAt - firstAt).toBeLessThan(800 + 400);
  });

  it('commits everything still queued when closed, in blocks of at most blockSize', async () => {
    const service = await start(2, 60_000);
    expectMore = true;
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const statuses = ids.map((id) => committed(service, id));
    for (const id of ids) service.enqueue(tx(id, `k-${id}`));
    await service.close();
    committer = null;
    const blocks = (await Promise.all(statuses)).map((entry) => entry.blockNum);
    expect(blocks).toEqual([1, 1, 2, 2, 3]);
  });

  it('marks a stale read as an MVCC conflict across blocks', async () => {
    const service = await start(10, 0);
    service.enqueue(tx('w1', 'k'));
    const written = await committed(service, 'w1');
    const stale: OrderedTx = {
      ...tx('r1', 'k'),
      rwsets: [{ ns: 'cc', reads: [{ key: 'k', version: null }], ranges: [], writes: [] }],
    };
    service.enqueue(stale);
    const conflict = await committed(service, 'r1');
    expect(written.code).toBe(peer.TxValidationCode.VALID);
    expect(conflict.code).toBe(peer.TxValidationCode.MVCC_READ_CONFLICT);
  });
});
