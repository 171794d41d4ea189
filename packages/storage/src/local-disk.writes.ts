import { constants as fsConstants, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { InvalidKeyError, SizeMismatchError, StorageError } from './errors';
import { fileSlice, type PendingWrite, type PutFileOptions, type StoredObjectInfo } from './storage-backend';

/*
 * The ways the local-disk backend fills a new temp file with an object's bytes. Each returns the byte count
 * and leaves committing (fsync, metadata, rename) or removing the file to the backend.
 */

export function checkExpectedSize(size: number | undefined): number | undefined {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new InvalidKeyError(`expectedSize must be a non-negative integer, got ${size}`);
  }
  return size;
}

/** Streams `source` into `tmp`, failing as soon as it passes the `expected` bytes of object `key`. */
export async function streamToFile(
  source: Readable,
  tmp: string,
  key: string,
  expected: number | undefined,
): Promise<number> {
  let size = 0;
  // Buffers of a few MiB let reading the source overlap with writing the file instead of alternating per
  // chunk; not more, since ingest writes several objects at once within the gateway's memory budget.
  const counter = new Transform({
    highWaterMark: 2 << 20,
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (expected !== undefined && size > expected) {
        callback(new SizeMismatchError(`Object "${key}" is larger than the declared ${expected} bytes`));
        return;
      }
      callback(null, chunk);
    },
  });
  await pipeline(
    source,
    counter,
    createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: 2 << 20 }),
  );
  return size;
}

/** Copies bytes `start` (default 0) up to `end` (exclusive, default the end) of the local `file` to `tmp`. */
export async function copyFileSlice(
  file: string,
  tmp: string,
  range: Pick<PutFileOptions, 'start' | 'end'>,
): Promise<number> {
  const source = await fs.open(file, 'r');
  try {
    const fileSize = (await source.stat()).size;
    const { start, end } = fileSlice(file, fileSize, range);
    if (start === 0 && end === fileSize) {
      // copy_file_range where the kernel has it: the bytes never enter this process.
      await fs.copyFile(file, tmp, fsConstants.COPYFILE_EXCL);
      await fs.chmod(tmp, 0o600);
      return (await fs.stat(tmp)).size;
    }
    const out = await fs.open(tmp, 'wx', 0o600);
    try {
      // One reused buffer: no allocation per chunk, no stream machinery.
      const buffer = Buffer.allocUnsafe(Math.min(4 << 20, Math.max(end - start, 1)));
      let position = start;
      while (position < end) {
        const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, end - position), position);
        if (bytesRead === 0) break;
        for (let done = 0; done < bytesRead;) {
          done += (await out.write(buffer, done, bytesRead - done)).bytesWritten;
        }
        position += bytesRead;
      }
      return position - start;
    } finally {
      await out.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * A PendingWrite over the temp file that `run` hands to its write step: writes land at their offsets,
 * `commit` lets the write step return the size (then `run` commits the file), `abort` makes it fail
 * (then `run` removes the file and leaves `key` untouched).
 */
export async function openPendingWrite(
  key: string,
  run: (write: (tmp: string) => Promise<number>) => Promise<StoredObjectInfo>,
): Promise<PendingWrite> {
  let handle: fs.FileHandle | undefined;
  let size = 0;
  let settle: (commit: boolean) => void = () => undefined;
  const decided = new Promise<boolean>((resolve) => (settle = resolve));
  let opened: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (opened = resolve));
  const committed = run(async (tmp) => {
    handle = await fs.open(tmp, 'wx', 0o600);
    opened();
    const commit = await decided;
    await handle.close();
    if (!commit) throw new StorageError('FAILED_PRECONDITION', `The write of "${key}" was abandoned`);
    return size;
  });
  committed.catch(() => undefined); // observed through commit() and abort()
  await Promise.race([ready, committed]);
  const file = handle as unknown as fs.FileHandle;
  return {
    write: async (bytes, position) => {
      for (let done = 0; done < bytes.length;) {
        done += (await file.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
      }
      size = Math.max(size, position + bytes.length);
    },
    commit: () => {
      settle(true);
      return committed;
    },
    abort: async () => {
      settle(false);
      await committed.catch(() => undefined);
    },
  };
}
