import { DEFAULT_BLOCK_SIZE, type ManifestObject } from '@decenter/core';
import { Readable } from 'node:stream';

import { BlockHasher } from './block-hasher';
import { ByteRangeError, IntegrityError } from './errors';
import type { HashPool } from './hash-pool';
import { merkleRoot } from './merkle';
import type { ByteRange, StorageBackend } from './storage-backend';

export interface OpenObjectOptions {
  /** Inclusive byte range of the logical object; parts outside it are not read. */
  range?: ByteRange;
  /** Hash every part read against the manifest (default true). */
  verify?: boolean;
  /** Block size the manifest was built with (the manifest's `blockSize`). */
  blockSize?: number;
  pool?: HashPool;
}

/**
 * Streams a stored object back from its parts, joined on the fly. With `verify`, each part touched is read
 * whole and hashed as it streams: bytes flow to the reader before the part's last block arrives, so a
 * changed byte fails the stream (IntegrityError) at the end of that part at the latest, and a consumer must
 * treat an errored stream's output as untrusted. A range read verifies exactly the parts it touches.
 */
export function openObject(
  backend: StorageBackend,
  bucket: string,
  object: ManifestObject,
  options: OpenObjectOptions = {},
): Readable {
  const verify = options.verify ?? true;
  const start = options.range?.start ?? 0;
  const end = options.range?.end ?? object.size - 1;
  if (
    options.range !== undefined &&
    (!Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      end < start ||
      end >= object.size)
  ) {
    throw new ByteRangeError(`Range ${start}-${end} is outside "${object.name}" of ${object.size} bytes`);
  }
  const partDigests = object.parts.map((part) => Buffer.from(part.digest, 'hex'));
  if (merkleRoot(partDigests).toString('hex') !== object.digest) {
    throw new IntegrityError(
      `The manifest entry of "${object.name}" is inconsistent: its parts do not add up to its digest`,
    );
  }
  if (object.parts.reduce((sum, part) => sum + part.size, 0) !== object.size) {
    throw new IntegrityError(
      `The manifest entry of "${object.name}" is inconsistent: part sizes do not add up`,
    );
  }

  async function* generate(): AsyncGenerator<Buffer> {
    let partStart = 0;
    for (const part of object.parts) {
      const partEnd = partStart + part.size - 1;
      const from = Math.max(start, partStart);
      const to = Math.min(end, partEnd);
      const offset = partStart;
      partStart += part.size;
      if (from > to) continue;
      if (!verify) {
        const stream = await backend.getObject(bucket, part.key, { start: from - offset, end: to - offset });
        let got = 0;
        try {
          for await (const chunk of stream) {
            got += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
        } finally {
          stream.destroy();
        }
        if (got !== to - from + 1) {
          throw new IntegrityError(
            `Part ${part.index} of "${object.name}" (${part.key}) is shorter than recorded`,
          );
        }
        continue;
      }
      const hasher = new BlockHasher({
        blockSize: options.blockSize ?? DEFAULT_BLOCK_SIZE,
        ...(options.pool === undefined ? {} : { pool: options.pool }),
      });
      const stream = await backend.getObject(bucket, part.key);
      let position = offset;
      try {
        for await (const raw of stream) {
          const chunk = raw as Buffer;
          await hasher.update(chunk);
          const lo = Math.max(from - position, 0);
          const hi = Math.min(to - position + 1, chunk.length);
          position += chunk.length;
          if (position - offset > part.size) break;
          if (lo < hi) yield lo === 0 && hi === chunk.length ? chunk : chunk.subarray(lo, hi);
        }
      } catch (error) {
        await hasher.abort();
        throw error;
      } finally {
        stream.destroy();
      }
      const { size, digest } = await hasher.digest();
      if (size !== part.size || digest !== part.digest) {
        throw new IntegrityError(
          `Part ${part.index} of "${object.name}" (${part.key}) does not match its manifest entry ` +
            `(${size !== part.size ? `size ${size}, expected ${part.size}` : 'digest differs'})`,
        );
      }
    }
  }

  return Readable.from(generate(), { objectMode: false, highWaterMark: 1 << 20 });
}
