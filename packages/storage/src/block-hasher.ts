import { DEFAULT_BLOCK_SIZE } from '@decenter/core';
import { open } from 'node:fs/promises';

import { StorageError } from './errors';
import { type BlockMemory, type HashPool, sharedHashPool } from './hash-pool';
import { leafHash, merkleRoot } from './merkle';

/** A short last block under this size is hashed inline: a worker round trip would cost more. */
const INLINE_LIMIT = 64 * 1024;

export interface BlockHasherOptions {
  blockSize?: number;
  pool?: HashPool;
  /** Blocks handed to workers and not yet hashed; bounds memory to about (maxInFlight + 1) * blockSize. */
  maxInFlight?: number;
  /**
   * Where the bytes go once hashed (e.g. a file): each block is written through the sink while a worker
   * hashes it, from the same shared memory, so the bytes are neither copied again nor read back to hash.
   */
  sink?: BlockSink;
}

/** Writes `bytes` at `position` (their offset in the whole stream); resolves once they are written. */
export type BlockSink = (bytes: Uint8Array, position: number) => Promise<void>;

export interface DigestResult {
  size: number;
  /** Leaf hashes of the blocks, in order. */
  leaves: Buffer[];
  /** Merkle root over the blocks, lowercase hex. */
  digest: string;
}

export function checkBlockSize(blockSize: number): number {
  if (!Number.isSafeInteger(blockSize) || blockSize < 1024 || blockSize > 256 * 1024 * 1024) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `blockSize must be an integer from 1 KiB to 256 MiB, got ${blockSize}`,
    );
  }
  return blockSize;
}

/**
 * Cuts a byte stream into fixed-size blocks and hashes each block as an RFC 6962 leaf in the worker pool,
 * keeping the leaves in stream order. Each byte is copied once into a block buffer, which is transferred to
 * a worker and back, then reused; the caller's thread never hashes more than the short last block.
 */
export class BlockHasher {
  private readonly blockSize: number;
  private readonly pool: HashPool;
  private readonly maxBuffers: number;
  private readonly sink: BlockSink | undefined;
  private readonly spare: BlockMemory[] = [];
  private allocated = 0;
  private current: Uint8Array | undefined;
  private filled = 0;
  /** Bytes of the current block already written through the sink (by sync()). */
  private sunk = 0;
  private blocks = 0;
  private readonly leaves: Buffer[] = [];
  private readonly pending = new Set<Promise<void>>();
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  private finished = false;
  size = 0;

  constructor(options: BlockHasherOptions = {}) {
    this.blockSize = checkBlockSize(options.blockSize ?? DEFAULT_BLOCK_SIZE);
    this.pool = options.pool ?? sharedHashPool();
    // One block per worker in flight, one queued behind them and one filling: enough to keep the workers
    // busy, few enough that several hashers at once stay within the gateway's memory budget.
    this.maxBuffers = (options.maxInFlight ?? this.pool.size + 1) + 1;
    this.sink = options.sink;
  }

  /** Adds bytes; resolves once they are copied, waiting while every block buffer is in a worker. */
  async update(chunk: Uint8Array): Promise<void> {
    if (this.finished) throw new StorageError('FAILED_PRECONDITION', 'BlockHasher.update after digest()');
    let offset = 0;
    while (offset < chunk.length) {
      this.current ??= await this.acquire();
      const n = Math.min(this.blockSize - this.filled, chunk.length - offset);
      this.current.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      this.size += n;
      if (this.filled === this.blockSize) this.flush();
    }
  }

  /**
   * Lets `read` write bytes straight into the current block buffer (no intermediate chunk, no copy);
   * `read` returns how many bytes it wrote, 0 at the end of the input. Returns that count.
   */
  async fill(read: (into: Uint8Array) => Promise<number>): Promise<number> {
    if (this.finished) throw new StorageError('FAILED_PRECONDITION', 'BlockHasher.fill after digest()');
    this.current ??= await this.acquire();
    const n = await read(this.current.subarray(this.filled, this.blockSize));
    this.filled += n;
    this.size += n;
    if (this.filled === this.blockSize) this.flush();
    return n;
  }

  private async acquire(): Promise<Uint8Array> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const spare = this.spare.pop();
      if (spare !== undefined) return new Uint8Array(spare);
      if (this.allocated < this.maxBuffers) {
        this.allocated++;
        const reused = idleBlocks(this.blockSize, this.sink !== undefined).pop();
        if (reused !== undefined) return new Uint8Array(reused);
        // With a sink the block is written and hashed at once, so its memory is shared with the worker.
        return new Uint8Array(
          this.sink === undefined ? new ArrayBuffer(this.blockSize) : new SharedArrayBuffer(this.blockSize),
        );
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private track(job: Promise<unknown>): void {
    const tracked: Promise<void> = job
      .then(
        () => undefined,
        (error: unknown) => {
          this.failure ??= error instanceof Error ? error : new Error(String(error));
        },
      )
      .finally(() => {
        this.pending.delete(tracked);
        this.wake();
      });
    this.pending.add(tracked);
  }

  private flush(): void {
    const block = this.current;
    if (block === undefined || this.filled === 0) return;
    const index = this.blocks++;
    const length = this.filled;
    const position = index * this.blockSize;
    const written =
      this.sink === undefined || this.sunk === length
        ? Promise.resolve()
        : this.sink(block.subarray(this.sunk, length), position + this.sunk);
    this.current = undefined;
    this.filled = 0;
    this.sunk = 0;
    const memory = block.buffer;
    if (length < this.blockSize && length < INLINE_LIMIT) {
      this.leaves[index] = leafHash(block.subarray(0, length));
      this.track(written.finally(() => this.spare.push(memory)));
      return;
    }
    // The block is reused only once it is both written and hashed.
    this.track(
      Promise.allSettled([written, this.pool.hashLeaf(memory, length)]).then(([write, hash]) => {
        if (hash.status === 'fulfilled') {
          this.leaves[index] = hash.value.digest;
          this.spare.push(hash.value.buffer);
        }
        if (write.status === 'rejected') throw write.reason;
        if (hash.status === 'rejected') throw hash.reason;
      }),
    );
  }

  /**
   * Writes every byte taken so far through the sink (the short current block too) and waits until all are
   * written, e.g. before answering the request that brought them. Later bytes continue the same block.
   */
  async sync(): Promise<void> {
    const block = this.current;
    if (this.sink !== undefined && block !== undefined && this.filled > this.sunk) {
      const from = this.sunk;
      this.sunk = this.filled;
      this.track(this.sink(block.subarray(from, this.filled), this.blocks * this.blockSize + from));
    }
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Hashes the last, partial block and waits for every worker; the hasher takes no more bytes after this. */
  async digest(): Promise<DigestResult> {
    this.finished = true;
    this.flush();
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.release();
    if (this.failure !== undefined) throw this.failure;
    const leaves = this.leaves.slice(0, this.blocks);
    return { size: this.size, leaves, digest: merkleRoot(leaves).toString('hex') };
  }

  /** Stops early (a failed write): waits for blocks in workers so none outlives the caller. */
  async abort(): Promise<void> {
    this.finished = true;
    this.current = undefined;
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.release();
  }

  /** Hands this hasher's blocks to the next one (several MiB each, freed only by a full GC otherwise). */
  private release(): void {
    const idle = idleBlocks(this.blockSize, this.sink !== undefined);
    for (const block of this.spare.splice(0)) if (idle.length < MAX_IDLE_BLOCKS) idle.push(block);
  }
}

/** Blocks kept for reuse per size and kind: one upload's worth, so back-to-back uploads allocate nothing. */
const MAX_IDLE_BLOCKS = 4;
const idle = new Map<string, BlockMemory[]>();

function idleBlocks(blockSize: number, shared: boolean): BlockMemory[] {
  const key = `${shared ? 'shared' : 'plain'}:${String(blockSize)}`;
  let blocks = idle.get(key);
  if (blocks === undefined) {
    blocks = [];
    idle.set(key, blocks);
  }
  return blocks;
}

/** Merkle digest of a stream of bytes (Buffers or Uint8Arrays). */
export async function digestStream(
  source: AsyncIterable<Uint8Array>,
  options: BlockHasherOptions = {},
): Promise<DigestResult> {
  const hasher = new BlockHasher(options);
  try {
    for await (const chunk of source) await hasher.update(chunk);
  } catch (error) {
    await hasher.abort();
    throw error;
  }
  return hasher.digest();
}

/** Merkle digest of a file, read block by block straight into the hasher's reusable buffers. */
export async function digestFile(file: string, options: BlockHasherOptions = {}): Promise<DigestResult> {
  const handle = await open(file, 'r');
  const hasher = new BlockHasher(options);
  try {
    while (
      (await hasher.fill(async (into) => (await handle.read(into, 0, into.length, null)).bytesRead)) > 0
    ) {
      // each round reads up to the rest of one block
    }
  } catch (error) {
    await hasher.abort();
    throw error;
  } finally {
    await handle.close();
  }
  return hasher.digest();
}
