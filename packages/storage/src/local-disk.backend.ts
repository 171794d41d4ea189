import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

import {
  BucketNotFoundError,
  ByteRangeError,
  ObjectNotFoundError,
  SizeMismatchError,
  StorageError,
} from './errors';
import { isErrno, LocalDiskLayout, metaOf } from './local-disk.layout';
import { checkExpectedSize, copyFileSlice, openPendingWrite, streamToFile } from './local-disk.writes';
import { validatePrefix } from './object-key';
import { parseReadPolicy, policyAllows, type Principal, type ReadPolicy } from './policy';
import type {
  PendingWrite,
  ByteRange,
  PutFileOptions,
  PutObjectOptions,
  StorageBackend,
  StoredObjectInfo,
} from './storage-backend';

type StoredInfoMoved = StoredObjectInfo & { moved: boolean };

/**
 * Object storage in a folder of the local disk (the embedded default), laid out as LocalDiskLayout
 * describes. Every write goes to a temp file that is fsynced and renamed into place, so a key holds either
 * its old or its complete new bytes, even after a crash.
 */
export class LocalDiskBackend implements StorageBackend {
  private readonly layout: LocalDiskLayout;

  constructor(rootDir: string) {
    this.layout = new LocalDiskLayout(rootDir);
  }

  private async requireBucket(bucket: string): Promise<void> {
    if (!(await this.bucketExists(bucket))) throw new BucketNotFoundError(bucket);
  }

  async createBucket(name: string): Promise<void> {
    const dir = this.layout.bucketDir(name);
    for (const sub of ['objects', 'meta', 'tmp']) {
      await fs.mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
    }
  }

  async bucketExists(name: string): Promise<boolean> {
    try {
      return (await fs.stat(path.join(this.layout.bucketDir(name), 'objects'))).isDirectory();
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return false;
      throw error;
    }
  }

  async putObject(
    bucket: string,
    key: string,
    source: Readable,
    opts: PutObjectOptions = {},
  ): Promise<StoredObjectInfo> {
    const expected = checkExpectedSize(opts.expectedSize);
    return this.writeThenCommit(bucket, key, opts, (tmp) => streamToFile(source, tmp, key, expected));
  }

  async putFile(
    bucket: string,
    key: string,
    file: string,
    opts: PutFileOptions = {},
  ): Promise<StoredObjectInfo> {
    checkExpectedSize(opts.expectedSize);
    return this.writeThenCommit(bucket, key, opts, (tmp) => copyFileSlice(file, tmp, opts));
  }

  /**
   * Makes a local file the object by renaming it into place (no copy): it is fsynced first, so the object
   * is on disk before anyone records its hash. Across file systems it is copied instead and left in place.
   */
  async adoptFile(
    bucket: string,
    key: string,
    file: string,
    opts: PutObjectOptions = {},
  ): Promise<StoredInfoMoved> {
    checkExpectedSize(opts.expectedSize);
    await this.requireBucket(bucket);
    const target = this.layout.objectPath(bucket, key);
    const meta = metaOf(opts);
    const handle = await fs.open(file, 'r');
    try {
      const size = (await handle.stat()).size;
      if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
        throw new SizeMismatchError(`"${file}" has ${size} bytes, ${opts.expectedSize} were declared`);
      }
      await handle.datasync();
    } finally {
      await handle.close();
    }
    if (await this.headObject(bucket, key).catch(() => undefined)) {
      throw new StorageError('CONFLICT', `Key "${key}" already holds an object`, {
        hint: 'Delete it first, or store the file under another key.',
      });
    }
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await this.layout.writeMeta(bucket, key, meta);
    let moved = true;
    try {
      await fs.rename(file, target);
      await fs.chmod(target, 0o600);
    } catch (error) {
      if (!isErrno(error, 'EXDEV')) {
        await this.deleteObject(bucket, key);
        throw error;
      }
      moved = false;
      return { ...(await this.putFile(bucket, key, file, opts)), moved };
    }
    const info = await this.headObject(bucket, key);
    if (info === undefined) throw new ObjectNotFoundError(bucket, key);
    return { ...info, moved };
  }

  /** A temp file written at offsets by the caller, then committed like putObject (fsync, meta, rename). */
  async openWrite(bucket: string, key: string, opts: PutObjectOptions = {}): Promise<PendingWrite> {
    return openPendingWrite(key, (write) => this.writeThenCommit(bucket, key, opts, write));
  }

  async renameObject(bucket: string, from: string, to: string): Promise<void> {
    const target = this.layout.objectPath(bucket, to);
    const metaTarget = this.layout.metaPath(bucket, to);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.dirname(metaTarget), { recursive: true, mode: 0o700 });
    // Meta first: a reader never sees the bytes under the new key without their read policy.
    await fs.rename(this.layout.metaPath(bucket, from), metaTarget);
    await fs.rename(this.layout.objectPath(bucket, from), target);
    await this.layout.pruneEmptyDirs(bucket, from);
  }

  async releaseFile(bucket: string, key: string, file: string): Promise<void> {
    await fs.rename(this.layout.objectPath(bucket, key), file);
    await this.deleteObject(bucket, key);
  }

  /**
   * Runs `write` against a fresh temp file, checks the declared size, fsyncs, writes the metadata and
   * renames the file into place; on any failure the temp file is removed and the key is untouched.
   */
  private async writeThenCommit(
    bucket: string,
    key: string,
    opts: PutObjectOptions,
    write: (tmp: string) => Promise<number>,
  ): Promise<StoredObjectInfo> {
    const target = this.layout.objectPath(bucket, key);
    const meta = metaOf(opts);
    await this.requireBucket(bucket);
    const tmp = this.layout.tmpPath(bucket, 'part');
    try {
      const size = await write(tmp);
      if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
        throw new SizeMismatchError(`Object "${key}" has ${size} bytes, ${opts.expectedSize} were declared`);
      }
      // fsync before rename, so that after a crash the key holds either the old or the complete new bytes.
      const handle = await fs.open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await this.layout.writeMeta(bucket, key, meta);
      await fs.rename(tmp, target);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      if (isErrno(error, 'EISDIR', 'ENOTDIR', 'EEXIST')) {
        throw new StorageError('CONFLICT', `Key "${key}" collides with a folder or object of the same path`, {
          hint: 'Choose a key that is not a prefix folder of other keys (or vice versa).',
          cause: error,
        });
      }
      throw error;
    }
    const info = await this.headObject(bucket, key);
    if (info === undefined) throw new ObjectNotFoundError(bucket, key);
    return info;
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<Readable> {
    const file = this.layout.objectPath(bucket, key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, fsConstants.O_RDONLY);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw new ObjectNotFoundError(bucket, key);
      throw error;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new ObjectNotFoundError(bucket, key);
      if (range === undefined) return handle.createReadStream({ highWaterMark: 1 << 20 });
      const end = range.end ?? stat.size - 1;
      if (
        !Number.isSafeInteger(range.start) ||
        !Number.isSafeInteger(end) ||
        range.start < 0 ||
        end < range.start ||
        end >= stat.size
      ) {
        throw new ByteRangeError(
          `Range ${range.start}-${range.end ?? ''} is outside object "${key}" of ${stat.size} bytes`,
        );
      }
      return handle.createReadStream({ start: range.start, end, highWaterMark: 1 << 20 });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async headObject(bucket: string, key: string): Promise<StoredObjectInfo | undefined> {
    let stat;
    try {
      stat = await fs.stat(this.layout.objectPath(bucket, key));
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error;
    }
    if (!stat.isFile()) return undefined;
    const meta = await this.layout.readMeta(bucket, key);
    return {
      bucket,
      key,
      size: stat.size,
      ...(meta.contentType === undefined ? {} : { contentType: meta.contentType }),
      lastModified: stat.mtime.toISOString(),
    };
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    // Deleting what is not there (or is a folder of other keys) is a no-op, as in S3.
    for (const file of [this.layout.objectPath(bucket, key), this.layout.metaPath(bucket, key)]) {
      try {
        await fs.unlink(file);
      } catch (error) {
        if (!isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM')) throw error;
      }
    }
    await this.layout.pruneEmptyDirs(bucket, key);
  }

  async deletePrefix(bucket: string, prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const info of this.listObjects(bucket, prefix)) keys.push(info.key);
    for (const key of keys) await this.deleteObject(bucket, key);
    return keys.length;
  }

  async *listObjects(bucket: string, prefix: string): AsyncIterable<StoredObjectInfo> {
    validatePrefix(prefix);
    await this.requireBucket(bucket);
    for await (const key of this.layout.keys(bucket, prefix)) {
      const info = await this.headObject(bucket, key);
      if (info !== undefined) yield info;
    }
  }

  async setPolicy(bucket: string, key: string, policy: ReadPolicy): Promise<void> {
    const clean = parseReadPolicy(policy);
    if ((await this.headObject(bucket, key)) === undefined) throw new ObjectNotFoundError(bucket, key);
    const meta = await this.layout.readMeta(bucket, key);
    await this.layout.writeMeta(bucket, key, { ...meta, policy: clean });
  }

  async getPolicy(bucket: string, key: string): Promise<ReadPolicy | undefined> {
    if ((await this.headObject(bucket, key)) === undefined) throw new ObjectNotFoundError(bucket, key);
    return (await this.layout.readMeta(bucket, key)).policy;
  }

  async canRead(principal: Principal, bucket: string, key: string): Promise<boolean> {
    if ((await this.headObject(bucket, key)) === undefined) return false;
    return policyAllows((await this.layout.readMeta(bucket, key)).policy, principal);
  }
}
