import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

import { GreenfieldError } from './errors';

/** Greenfield's erasure-coding parameters (chain storage params: versioned max segment size, EC chunks). */
export interface RedundancyParams {
  segmentSize: number;
  dataShards: number;
  parityShards: number;
}

/** Mainnet and testnet defaults: 16 MiB segments, 4 data + 2 parity pieces. */
export const DEFAULT_REDUNDANCY: RedundancyParams = { segmentSize: 16 << 20, dataShards: 4, parityShards: 2 };

interface SegmentResult {
  index: number;
  segChecksum: Uint8Array;
  encodeDataHash: Uint8Array[];
}

interface WorkerReply {
  index: number;
  segChecksum?: Uint8Array;
  encodeDataHash?: Uint8Array[];
  error?: string;
}

// The worker runs plain JavaScript given as source so that it loads the same way from the compiled package
// and under Jest (which cannot hand a .ts file to worker_threads). It only runs the SDK's Reed-Solomon
// encoder over one segment at a time; combining the per-segment hashes happens here.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { ReedSolomon } = require(workerData.reedSolomonPath);
const rs = new ReedSolomon(workerData.dataShards, workerData.parityShards, workerData.segmentSize);
parentPort.on('message', (msg) => {
  try {
    const shard = rs.getEncodeShard(new Uint8Array(msg.buffer, 0, msg.length), msg.index);
    parentPort.postMessage({ index: msg.index, segChecksum: shard.segChecksum, encodeDataHash: shard.encodeDataHash });
  } catch (error) {
    parentPort.postMessage({ index: msg.index, error: String((error && error.message) || error) });
  }
});
`;

function sha256(parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/**
 * Combines per-segment results into Greenfield's expect_checksums: [integrity hash over the segments'
 * SHA-256, then one hash per erasure-coded piece index over that piece's hashes in segment order].
 * With no segments (an empty object) every entry is SHA-256 of nothing, as the Go SDK computes it.
 */
export function combineSegmentHashes(
  results: readonly SegmentResult[],
  params: RedundancyParams,
): Uint8Array[] {
  const pieces = params.dataShards + params.parityShards;
  const ordered = [...results].sort((a, b) => a.index - b.index);
  ordered.forEach((result, position) => {
    if (result.index !== position || result.encodeDataHash.length !== pieces) {
      throw new GreenfieldError('INTERNAL', `Checksum of segment ${position} is missing or malformed`);
    }
  });
  const checksums = [sha256(ordered.map((r) => r.segChecksum))];
  for (let piece = 0; piece < pieces; piece++) {
    checksums.push(sha256(ordered.map((r) => r.encodeDataHash[piece] ?? new Uint8Array())));
  }
  return checksums;
}

/**
 * Computes Greenfield checksums in worker threads with the SDK's Reed-Solomon encoder, one segment per
 * message, so the request thread never blocks on erasure coding and memory stays bounded by the segments
 * in flight (about `2 * size * segmentSize`) instead of the whole object.
 */
export class ChecksumPool {
  private readonly workers: (Worker | undefined)[] = [];
  private closed = false;

  constructor(
    private readonly params: RedundancyParams = DEFAULT_REDUNDANCY,
    readonly size = 2,
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new GreenfieldError('INVALID_ARGUMENT', 'Pool size must be >= 1');
    if (!Number.isSafeInteger(params.segmentSize) || params.segmentSize <= 0) {
      throw new GreenfieldError('INVALID_ARGUMENT', `Invalid segment size ${params.segmentSize}`);
    }
  }

  private worker(slot: number): Worker {
    if (this.closed) throw new GreenfieldError('FAILED_PRECONDITION', 'The checksum pool is closed');
    let worker = this.workers[slot];
    if (worker === undefined) {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { reedSolomonPath: require.resolve('@bnb-chain/reed-solomon'), ...this.params },
      });
      // An idle pool must not keep the process alive.
      worker.unref();
      this.workers[slot] = worker;
    }
    return worker;
  }

  /** Runs one segment on the given worker; the buffer is transferred, so the caller must not reuse it. */
  private encode(slot: number, index: number, segment: Buffer): Promise<SegmentResult> {
    const worker = this.worker(slot);
    return new Promise<SegmentResult>((resolve, reject) => {
      const onMessage = (reply: WorkerReply): void => {
        if (reply.index !== index) return;
        cleanup();
        if (
          reply.error !== undefined ||
          reply.segChecksum === undefined ||
          reply.encodeDataHash === undefined
        ) {
          reject(
            new GreenfieldError('INTERNAL', `Erasure coding segment ${index} failed: ${reply.error ?? '?'}`),
          );
          return;
        }
        resolve({ index, segChecksum: reply.segChecksum, encodeDataHash: reply.encodeDataHash });
      };
      const onError = (cause: Error): void => {
        cleanup();
        this.workers[slot] = undefined;
        reject(new GreenfieldError('INTERNAL', 'The checksum worker crashed', { cause }));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      // Copy into an exactly sized ArrayBuffer we own: the source may be a slice of a pooled buffer.
      const owned = new Uint8Array(segment.length);
      owned.set(segment);
      worker.postMessage({ index, buffer: owned.buffer, length: owned.length }, [owned.buffer]);
    });
  }

  /** Checksums of everything `source` yields, cut into segments exactly as Greenfield cuts the object. */
  async checksums(source: AsyncIterable<Uint8Array>): Promise<{ checksums: Uint8Array[]; size: number }> {
    const { segmentSize } = this.params;
    const pending = new Map<number, Promise<SegmentResult>>();
    const results: SegmentResult[] = [];
    let index = 0;
    let size = 0;
    let parts: Buffer[] = [];
    let buffered = 0;
    const submit = async (segment: Buffer): Promise<void> => {
      const slot = index % this.size;
      const current = index++;
      const running = this.encode(slot, current, segment);
      // Keep failures observed even before we await them.
      running.catch(() => undefined);
      pending.set(current, running);
      // Back-pressure: at most two segments queued per worker.
      while (pending.size >= this.size * 2) {
        const oldest = Math.min(...pending.keys());
        results.push(await (pending.get(oldest) as Promise<SegmentResult>));
        pending.delete(oldest);
      }
    };
    try {
      for await (const chunk of source) {
        let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        size += data.length;
        while (buffered + data.length >= segmentSize) {
          const take = segmentSize - buffered;
          parts.push(data.subarray(0, take));
          data = data.subarray(take);
          const segment = Buffer.concat(parts, segmentSize);
          parts = [];
          buffered = 0;
          await submit(segment);
        }
        if (data.length > 0) {
          parts.push(Buffer.from(data));
          buffered += data.length;
        }
      }
      if (buffered > 0) await submit(Buffer.concat(parts, buffered));
      for (const [, running] of [...pending.entries()].sort(([a], [b]) => a - b)) results.push(await running);
    } finally {
      pending.clear();
    }
    return { checksums: combineSegmentHashes(results, this.params), size };
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.filter((worker): worker is Worker => worker !== undefined);
    this.workers.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
