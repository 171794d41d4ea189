import type { ChaincodeEvent, Checkpointer } from '@hyperledger/fabric-gateway';
import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

import { LedgerConfigError } from './ledger.errors';

const stateSchema = z.strictObject({
  blockNumber: z.string().regex(/^\d+$/),
  transactionId: z.string().min(1).optional(),
});

/**
 * A checkpoint kept in a file: the block to resume from and, within it, the last transaction handled.
 * Every update is written to a temporary file, flushed and renamed over the old one, so a crash leaves
 * either the old or the new checkpoint, never a torn one.
 */
export class FileCheckpointer implements Checkpointer {
  private blockNumber: bigint | undefined;
  private transactionId: string | undefined;

  private constructor(private readonly path: string) {}

  static async open(path: string): Promise<FileCheckpointer> {
    const checkpointer = new FileCheckpointer(path);
    await checkpointer.load();
    return checkpointer;
  }

  getBlockNumber(): bigint | undefined {
    return this.blockNumber;
  }

  getTransactionId(): string | undefined {
    return this.transactionId;
  }

  /** A block is done: resume from the next one. */
  async checkpointBlock(blockNumber: bigint): Promise<void> {
    await this.save(blockNumber + 1n, undefined);
  }

  async checkpointTransaction(blockNumber: bigint, transactionId: string): Promise<void> {
    await this.save(blockNumber, transactionId);
  }

  async checkpointChaincodeEvent(event: ChaincodeEvent): Promise<void> {
    await this.save(event.blockNumber, event.transactionId);
  }

  private async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new LedgerConfigError(`cannot read the event checkpoint ${this.path}`, { cause: err });
    }
    let parsed: z.infer<typeof stateSchema>;
    try {
      parsed = stateSchema.parse(JSON.parse(text));
    } catch (err) {
      throw new LedgerConfigError(`the event checkpoint ${this.path} is malformed`, {
        cause: err,
        hint: 'Delete the checkpoint file to replay events from the start block.',
      });
    }
    this.blockNumber = BigInt(parsed.blockNumber);
    this.transactionId = parsed.transactionId;
  }

  private async save(blockNumber: bigint, transactionId: string | undefined): Promise<void> {
    const state: z.infer<typeof stateSchema> = { blockNumber: blockNumber.toString() };
    if (transactionId !== undefined) state.transactionId = transactionId;
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
    this.blockNumber = blockNumber;
    this.transactionId = transactionId;
  }
}
