import {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_SHARD_SIZE,
  type ManifestObject,
  type ManifestPart,
  type ObjectRole,
} from '@decenter/core';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';

import { BlockHasher, checkBlockSize, digestFile } from './block-hasher';
import { StorageError } from './errors';
import type { HashPool } from './hash-pool';
import { merkleRoot } from './merkle';
import { validateKey } from './object-key';
import type { ReadPolicy } from './policy';
import type { StorageBackend, StoredObjectInfo } from './storage-backend';

export interface StoreObjectOptions {
  role: ObjectRole;
  blockSize?: number;
  shardSize?: number;
  policy?: ReadPolicy;
  contentType?: string;
  /** Size of a stream source, when known; a file's size is read from disk. Streams of another size fail. */
  size?: number;
  /** Rows or samples, recorded in the manifest entry. */
  records?: number;
  pool?: HashPool;
}

/** Checks that shardSize = blockSize * 2^k, which makes an object's digest the tree over its parts' digests. */
export function checkShardLayout(blockSize: number, shardSize: number): number {
  checkBlockSize(blockSize);
  const ratio = shardSize / blockSize;
  if (
    !Number.isSafeInteger(shardSize) ||
    !Number.isInteger(ratio) ||
    ratio < 1 ||
    (ratio & (ratio - 1)) !== 0
  ) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `shardSize (${shardSize}) must be blockSize (${blockSize}) times a power of two`,
      { hint: 'Use e.g. blockSize 4 MiB and shardSize 2 GiB.' },
    );
  }
  return ratio;
}

export function partKey(base: string, index: number): string {
  return `${base}.part-${String(index).padStart(5, '0')}`;
}

class PartWriter {
  readonly stream = new PassThrough({ highWaterMark: 1 << 20 });
  readonly done: Promise<StoredObjectInfo>;
  written = 0;
  error: Error | undefined;

  constructor(
    backend: StorageBackend,
    bucket: string,
    readonly key: string,
    opts: StoreObjectOptions,
  ) {
    this.stream.on('error', (error) => (this.error ??= error));
    this.done = backend.putObject(bucket, key, this.stream, {
      ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
      ...(opts.policy === undefined ? {} : { policy: opts.policy }),
    });
    // A write that fails must stop the producer, which may be waiting for 'drain'.
    this.done.catch((error: unknown) => {
      this.error ??= error instanceof Error ? error : new Error(String(error));
      this.stream.destroy(this.error);
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.error !== undefined) throw this.error;
    this.written += chunk.length;
    if (!this.stream.write(chunk)) await Promise.race([once(this.stream, 'drain'), this.done]);
  }

  async finish(): Promise<StoredObjectInfo> {
    this.stream.end();
    return this.done;
  }
}

/**
 * Stores one object of a job as `<prefix>/<name>`, split into parts of `shardSize` bytes named
 * `<prefix>/<name>.part-00000`, ... when it does not fit one part, hashing the bytes as they are written
 * (each byte is hashed once). When the size is unknown up front (a stream without `size`), a single part
 * is renamed to the plain name where the backend can rename, and keeps the `.part-00000` suffix elsewhere. If anything fails, every part written so far is deleted.
 */
export async function storeObject(
  backend: StorageBackend,
  bucket: string,
  prefix: string,
  name: string,
  source: Readable | string,
  opts: StoreObjectOptions,
): Promise<ManifestObject> {
  validateKey(name);
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const shardSize = opts.shardSize ?? DEFAULT_SHARD_SIZE;
  const blocksPerPart = checkShardLayout(blockSize, shardSize);
  const base = validateKey(prefix === '' ? name : `${prefix.replace(/\/+$/, '')}/${name}`);
  const knownSize = typeof source === 'string' ? (await stat(source)).size : opts.size;
  if (typeof source === 'string' && canPutFile(backend)) {
    return storeFile(backend, bucket, base, name, source, knownSize ?? 0, opts, blockSize, shardSize);
  }
  const input = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1 << 20 }) : source;
  const singlePart = knownSize !== undefined && knownSize <= shardSize;

  // One block hashing while the next fills: objects are often written several at once (a split's outputs),
  // which keeps the workers busy, so a deeper queue per object would only cost memory.
  const hasher = new BlockHasher({
    blockSize,
    maxInFlight: 1,
    ...(opts.pool === undefined ? {} : { pool: opts.pool }),
  });
  const written: string[] = [];
  // Parts being finished (flushed, fsynced, renamed) while the next one is already written.
  const finishing: Promise<StoredObjectInfo>[] = [];
  let writer: PartWriter | undefined;
  const open = (): PartWriter => {
    const key = singlePart ? base : partKey(base, finishing.length);
    written.push(key);
    return new PartWriter(backend, bucket, key, opts);
  };
  try {
    for await (const raw of input) {
      const chunk = raw as Uint8Array;
      if (knownSize !== undefined && hasher.size + chunk.length > knownSize) {
        throw new StorageError('INVALID_DATA', `"${name}" is larger than the expected ${knownSize} bytes`, {
          hint: 'The source changed while it was stored; store it again.',
        });
      }
      let offset = 0;
      while (offset < chunk.length) {
        writer ??= open();
        const n = Math.min(shardSize - writer.written, chunk.length - offset);
        const piece = chunk.subarray(offset, offset + n);
        await Promise.all([writer.write(piece), hasher.update(piece)]);
        offset += n;
        if (writer.written === shardSize) {
          const done = writer.finish();
          done.catch(() => undefined); // observed below, through Promise.all
          finishing.push(done);
          writer = undefined;
        }
      }
    }
    if (writer !== undefined || finishing.length === 0) finishing.push((writer ?? open()).finish());
    let parts = await Promise.all(finishing);
    writer = undefined;
    const [only] = parts;
    if (!singlePart && parts.length === 1 && only !== undefined && backend.renameObject !== undefined) {
      // A stream of unknown size that fit one part keeps the object's plain name, like a file would.
      await backend.renameObject(bucket, only.key, base);
      written.push(base);
      parts = [{ ...only, key: base }];
    }
    if (knownSize !== undefined && hasher.size !== knownSize) {
      throw new StorageError(
        'INVALID_DATA',
        `"${name}" has ${hasher.size} bytes, ${knownSize} were expected`,
        {
          hint: 'The source changed or was cut short while it was stored; store it again.',
        },
      );
    }
    const { leaves, digest, size } = await hasher.digest();
    const manifestParts: ManifestPart[] = parts.map((info, index) => ({
      index,
      key: info.key,
      size: info.size,
      digest: merkleRoot(leaves.slice(index * blocksPerPart, (index + 1) * blocksPerPart)).toString('hex'),
    }));
    const total = manifestParts.reduce((sum, part) => sum + part.size, 0);
    if (total !== size) {
      throw new StorageError(
        'INTERNAL',
        `Stored parts of "${name}" hold ${total} bytes, ${size} were hashed`,
      );
    }
    return {
      name,
      role: opts.role,
      size,
      digest,
      parts: manifestParts,
      ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
      ...(opts.records === undefined ? {} : { records: opts.records }),
    };
  } catch (error) {
    if (writer !== undefined) {
      writer.stream.destroy(error instanceof Error ? error : new Error(String(error)));
      await writer.done.catch(() => undefined);
    }
    if (typeof source === 'string') input.destroy();
    await hasher.abort();
    await Promise.allSettled(finishing);
    await Promise.allSettled(written.map((key) => backend.deleteObject(bucket, key)));
    throw error;
  }
}

type FileBackend = StorageBackend & Required<Pick<StorageBackend, 'putFile'>>;

function canPutFile(backend: StorageBackend): backend is FileBackend {
  return typeof backend.putFile === 'function';
}

/**
 * File sources on a backend with `putFile`: the parts are copied by the backend (in the kernel where it
 * can) while the same file is hashed, block by block, in the worker pool; each byte is still hashed once.
 * The file must not change while it is stored (ingest stores files it owns); a change of size is detected.
 */
async function storeFile(
  backend: FileBackend,
  bucket: string,
  base: string,
  name: string,
  file: string,
  size: number,
  opts: StoreObjectOptions,
  blockSize: number,
  shardSize: number,
): Promise<ManifestObject> {
  const count = Math.max(1, Math.ceil(size / shardSize));
  const written: string[] = [];
  const copy = async (): Promise<StoredObjectInfo[]> => {
    const infos: StoredObjectInfo[] = [];
    for (let index = 0; index < count; index++) {
      const key = count === 1 ? base : partKey(base, index);
      const start = index * shardSize;
      const end = Math.min(size, start + shardSize);
      written.push(key);
      infos.push(
        await backend.putFile(bucket, key, file, {
          start,
          end,
          expectedSize: end - start,
          ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
          ...(opts.policy === undefined ? {} : { policy: opts.policy }),
        }),
      );
    }
    return infos;
  };
  // Both settle before anything is cleaned up, so no part is committed after its deletion.
  const [hashed, copied] = await Promise.allSettled([
    digestFile(file, { blockSize, ...(opts.pool === undefined ? {} : { pool: opts.pool }) }),
    copy(),
  ]);
  try {
    if (hashed.status === 'rejected') throw hashed.reason;
    if (copied.status === 'rejected') throw copied.reason;
    const { leaves, digest } = hashed.value;
    if (hashed.value.size !== size) {
      throw new StorageError('INVALID_DATA', `"${name}" changed size while it was stored`, {
        hint: 'Store a file that nothing else writes to.',
      });
    }
    const blocksPerPart = shardSize / blockSize;
    return {
      name,
      role: opts.role,
      size,
      digest,
      parts: copied.value.map((info, index) => ({
        index,
        key: info.key,
        size: info.size,
        digest: merkleRoot(leaves.slice(index * blocksPerPart, (index + 1) * blocksPerPart)).toString('hex'),
      })),
      ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
      ...(opts.records === undefined ? {} : { records: opts.records }),
    };
  } catch (error) {
    await Promise.allSettled(written.map((key) => backend.deleteObject(bucket, key)));
    throw error;
  }
}
