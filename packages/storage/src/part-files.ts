import type { ManifestObject, ObjectRole } from '@decenter/core';
import { open } from 'node:fs/promises';
import { PassThrough, type Writable } from 'node:stream';

import { StorageError } from './errors';
import { combine } from './merkle';
import { validateKey } from './object-key';
import type { ReadPolicy } from './policy';
import { checkShardLayout, partKey, storeObject, type StoreObjectOptions } from './sharding';
import { canWriteAtOffsets, openShardedWriter } from './sharded-writer';
import type { StorageBackend } from './storage-backend';

/** A local file that is one part of an object, with the digest computed when it was written. */
export interface LocalPart {
  path: string;
  size: number;
  digest: string;
}

/** Where an adopted part's bytes came from, so a failed ingest can give them back. */
export interface AdoptedPart {
  key: string;
  path: string;
  moved: boolean;
}

/** The bytes of files one after the other, read in large chunks. */
export async function* joinFiles(paths: readonly string[], chunkSize = 4 << 20): AsyncGenerator<Buffer> {
  for (const file of paths) {
    const handle = await open(file, 'r');
    try {
      for (;;) {
        const buffer = Buffer.allocUnsafe(chunkSize);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }
}

/** RFC 6962 root over subtree roots of 2^k leaves each (parts of shardSize = blockSize * 2^k bytes). */
function rootOfParts(digests: readonly Buffer[]): Buffer {
  if (digests.length === 1) return digests[0] as Buffer;
  let split = 1;
  while (split * 2 < digests.length) split *= 2;
  return combine(rootOfParts(digests.slice(0, split)), rootOfParts(digests.slice(split)));
}

/**
 * Stores local part files (each shardSize bytes but the last, with their digests) as one object's parts
 * without copying or hashing them again: the backend adopts each file (a rename on local disk) and the
 * object's digest is the tree over the parts' digests. `adopted` receives every part taken, in order, so a
 * caller can give them back (releaseParts) if anything later fails.
 */
export async function adoptParts(
  backend: StorageBackend,
  bucket: string,
  prefix: string,
  name: string,
  parts: readonly LocalPart[],
  opts: StoreObjectOptions & { blockSize: number; shardSize: number },
  adopted: AdoptedPart[],
): Promise<ManifestObject> {
  validateKey(name);
  checkShardLayout(opts.blockSize, opts.shardSize);
  const adopt = backend.adoptFile?.bind(backend);
  if (adopt === undefined) {
    throw new StorageError('FAILED_PRECONDITION', 'This storage backend cannot take files without a copy', {
      hint: 'Store the files with storeObject instead.',
    });
  }
  const base = validateKey(prefix === '' ? name : `${prefix.replace(/\/+$/, '')}/${name}`);
  parts.forEach((part, index) => {
    const last = index === parts.length - 1;
    if (
      part.size > opts.shardSize ||
      (!last && part.size !== opts.shardSize) ||
      !/^[0-9a-f]{64}$/.test(part.digest)
    ) {
      throw new StorageError(
        'INVALID_ARGUMENT',
        `Part ${index} of "${name}" is not a whole shard with a digest`,
      );
    }
  });
  const manifestParts = [];
  for (const [index, part] of parts.entries()) {
    const key = parts.length === 1 ? base : partKey(base, index);
    const info = await adopt(bucket, key, part.path, {
      expectedSize: part.size,
      ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
      ...(opts.policy === undefined ? {} : { policy: opts.policy }),
    });
    adopted.push({ key, path: part.path, moved: info.moved });
    manifestParts.push({ index, key, size: info.size, digest: part.digest });
  }
  return {
    name,
    role: opts.role,
    size: parts.reduce((sum, part) => sum + part.size, 0),
    digest: rootOfParts(parts.map((part) => Buffer.from(part.digest, 'hex'))).toString('hex'),
    parts: manifestParts,
    ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
    ...(opts.records === undefined ? {} : { records: opts.records }),
  };
}

/** Gives adopted parts back to their files (latest first) and deletes the copies a backend had to make. */
export async function releaseParts(
  backend: StorageBackend,
  bucket: string,
  adopted: readonly AdoptedPart[],
): Promise<void> {
  for (const part of [...adopted].reverse()) {
    if (part.moved && backend.releaseFile !== undefined)
      await backend.releaseFile(bucket, part.key, part.path);
    else await backend.deleteObject(bucket, part.key);
  }
}

/** A writable object of a job: bytes written to `stream` are hashed and stored (sharded) as they come. */
export interface ObjectWriter {
  stream: Writable;
  /** The object's manifest entry, once `stream` has ended and every part is stored. */
  done: Promise<ManifestObject>;
}

/**
 * Opens a streaming object writer; `size` when known. Backends that write at offsets (local disk) get
 * each block written and hashed at once with nothing buffered in between; others storeObject over a pipe.
 */
export function openObjectWriter(
  backend: StorageBackend,
  bucket: string,
  prefix: string,
  name: string,
  opts: StoreObjectOptions & { role: ObjectRole; policy?: ReadPolicy },
): ObjectWriter {
  if (canWriteAtOffsets(backend)) return openShardedWriter(backend, bucket, prefix, name, opts);
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  const done = storeObject(backend, bucket, prefix, name, stream, opts);
  // A failed store must stop the producer, which may be waiting for 'drain'.
  done.catch((error: unknown) => stream.destroy(error instanceof Error ? error : new Error(String(error))));
  return { stream, done };
}
