import type { Readable } from 'node:stream';

import { ByteRangeError } from './errors';
import type { Principal, ReadPolicy } from './policy';

export interface StoredObjectInfo {
  bucket: string;
  key: string;
  size: number;
  contentType?: string;
  /** ISO 8601 time of the last write. */
  lastModified: string;
}

export interface PutObjectOptions {
  contentType?: string;
  policy?: ReadPolicy;
  /** When set, a write whose byte count differs fails and leaves nothing behind. */
  expectedSize?: number;
}

/** A slice of a local file to store: bytes `start` (default 0) up to `end` (exclusive, default the end). */
export interface PutFileOptions extends PutObjectOptions {
  start?: number;
  end?: number;
}

/** The slice of a `fileSize`-byte `file` that putFile's `start` / `end` name, checked; every backend uses it. */
export function fileSlice(
  file: string,
  fileSize: number,
  range: Pick<PutFileOptions, 'start' | 'end'>,
): { start: number; end: number } {
  const start = range.start ?? 0;
  const end = range.end ?? fileSize;
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end < start ||
    end > fileSize
  ) {
    throw new ByteRangeError(`Range ${start}-${end} is outside "${file}" of ${fileSize} bytes`);
  }
  return { start, end };
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`; `end` defaults to the last byte. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** An object being written by openWrite. */
export interface PendingWrite {
  write(bytes: Uint8Array, position: number): Promise<void>;
  commit(): Promise<StoredObjectInfo>;
  /** Drops what was written; the key is untouched. */
  abort(): Promise<void>;
}

/**
 * Buckets of objects with per-object read policies. Writes are all-or-nothing: a failed or aborted
 * write leaves no object behind and never a partial one visible to readers.
 */
export interface StorageBackend {
  createBucket(name: string): Promise<void>;
  bucketExists(name: string): Promise<boolean>;
  putObject(
    bucket: string,
    key: string,
    source: Readable,
    opts?: PutObjectOptions,
  ): Promise<StoredObjectInfo>;
  /**
   * Optional fast path for a local file (or a slice of one) that a backend can copy without streaming it
   * through JavaScript; same all-or-nothing guarantee as putObject.
   */
  putFile?(bucket: string, key: string, file: string, opts?: PutFileOptions): Promise<StoredObjectInfo>;
  /**
   * Optional fast path for a local file the caller owns and gives up: it becomes the object without a copy
   * (a rename on the same file system) and is no longer at `file` afterwards, unless `moved` is false (the
   * backend had to copy it). `releaseFile` undoes it.
   */
  adoptFile?(
    bucket: string,
    key: string,
    file: string,
    opts?: PutObjectOptions,
  ): Promise<StoredObjectInfo & { moved: boolean }>;
  /**
   * Optional: an object written at offsets (as blocks are hashed, in any order) and committed at once,
   * all-or-nothing like putObject; nothing is visible under `key` before `commit`.
   */
  openWrite?(bucket: string, key: string, opts?: PutObjectOptions): Promise<PendingWrite>;
  /** Optional: renames an object (bytes, content type and policy) without copying it. */
  renameObject?(bucket: string, from: string, to: string): Promise<void>;
  /** Gives an adopted object's bytes back to `file` (where they came from) and forgets the object. */
  releaseFile?(bucket: string, key: string, file: string): Promise<void>;
  getObject(bucket: string, key: string, range?: ByteRange): Promise<Readable>;
  headObject(bucket: string, key: string): Promise<StoredObjectInfo | undefined>;
  deleteObject(bucket: string, key: string): Promise<void>;
  /** Deletes every object whose key starts with `prefix`; returns how many were deleted. */
  deletePrefix(bucket: string, prefix: string): Promise<number>;
  listObjects(bucket: string, prefix: string): AsyncIterable<StoredObjectInfo>;
  setPolicy(bucket: string, key: string, policy: ReadPolicy): Promise<void>;
  getPolicy(bucket: string, key: string): Promise<ReadPolicy | undefined>;
  canRead(principal: Principal, bucket: string, key: string): Promise<boolean>;
}
