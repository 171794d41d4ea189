import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  BucketNotFoundError,
  ByteRangeError,
  InvalidKeyError,
  ObjectNotFoundError,
  SizeMismatchError,
  StorageError,
} from './errors';
import { validateBucketName, validateKey, validatePrefix } from './object-key';
import { parseReadPolicy, policyAllows, type Principal, type ReadPolicy } from './policy';
import type {
  PendingWrite,
  ByteRange,
  PutFileOptions,
  PutObjectOptions,
  StorageBackend,
  StoredObjectInfo,
} from './storage-backend';

interface ObjectMeta {
  contentType?: string;
  policy?: ReadPolicy;
}

function checkExpectedSize(size: number | undefined): number | undefined {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new InvalidKeyError(`expectedSize must be a non-negative integer, got ${size}`);
  }
  return size;
}

/** Duck-typed: errors from Node's fs are not `instanceof Error` across Jest's realms. */
function isErrno(error: unknown, ...codes: string[]): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && codes.includes(code);
}

/**
 * Buckets are directories under `rootDir`: `<bucket>/objects/<key>` holds the bytes, `<bucket>/meta/<key>`
 * the content type and read policy beside them, `<bucket>/tmp` the writes in flight. Files are 0600 and
 * directories 0700: only the service account reads the store directly; everyone else goes through
 * `canRead`.
 */
type StoredInfoMoved = StoredObjectInfo & { moved: boolean };

export class LocalDiskBackend implements StorageBackend {
  constructor(private readonly rootDir: string) {}

  private bucketDir(bucket: string): string {
    return path.join(this.rootDir, validateBucketName(bucket));
  }

  private objectPath(bucket: string, key: string): string {
    return path.join(this.bucketDir(bucket), 'objects', validateKey(key));
  }

  private metaPath(bucket: string, key: string): string {
    return path.join(this.bucketDir(bucket), 'meta', validateKey(key));
  }

  private async requireBucket(bucket: string): Promise<void> {
    if (!(await this.bucketExists(bucket))) throw new BucketNotFoundError(bucket);
  }

  async createBucket(name: string): Promise<void> {
    const dir = this.bucketDir(name);
    for (const sub of ['objects', 'meta', 'tmp']) {
      await fs.mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
    }
  }

  async bucketExists(name: string): Promise<boolean> {
    try {
      return (await fs.stat(path.join(this.bucketDir(name), 'objects'))).isDirectory();
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
    return this.writeThenCommit(bucket, key, opts, async (tmp) => {
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
    });
  }

  async putFile(
    bucket: string,
    key: string,
    file: string,
    opts: PutFileOptions = {},
  ): Promise<StoredObjectInfo> {
    checkExpectedSize(opts.expectedSize);
    return this.writeThenCommit(bucket, key, opts, async (tmp) => {
      const source = await fs.open(file, 'r');
      try {
        const fileSize = (await source.stat()).size;
        const start = opts.start ?? 0;
        const end = opts.end ?? fileSize;
        if (
          !Number.isSafeInteger(start) ||
          !Number.isSafeInteger(end) ||
          start < 0 ||
          end < start ||
          end > fileSize
        ) {
          throw new ByteRangeError(`Range ${start}-${end} is outside "${file}" of ${fileSize} bytes`);
        }
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
            const { bytesRead } = await source.read(
              buffer,
              0,
              Math.min(buffer.length, end - position),
              position,
            );
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
    });
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
    const target = this.objectPath(bucket, key);
    const policy = opts.policy === undefined ? undefined : parseReadPolicy(opts.policy);
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
    await this.writeMeta(bucket, this.metaPath(bucket, key), {
      ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
      ...(policy === undefined ? {} : { policy }),
    });
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
    let handle: fs.FileHandle | undefined;
    let size = 0;
    let settle: (commit: boolean) => void = () => undefined;
    const decided = new Promise<boolean>((resolve) => (settle = resolve));
    let opened: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (opened = resolve));
    const committed = this.writeThenCommit(bucket, key, opts, async (tmp) => {
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

  async renameObject(bucket: string, from: string, to: string): Promise<void> {
    const target = this.objectPath(bucket, to);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.dirname(this.metaPath(bucket, to)), { recursive: true, mode: 0o700 });
    // Meta first: a reader never sees the bytes under the new key without their read policy.
    await fs.rename(this.metaPath(bucket, from), this.metaPath(bucket, to));
    await fs.rename(this.objectPath(bucket, from), target);
    await this.pruneEmptyDirs(bucket, from);
  }

  async releaseFile(bucket: string, key: string, file: string): Promise<void> {
    await fs.rename(this.objectPath(bucket, key), file);
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
    const target = this.objectPath(bucket, key);
    const metaTarget = this.metaPath(bucket, key);
    const policy = opts.policy === undefined ? undefined : parseReadPolicy(opts.policy);
    await this.requireBucket(bucket);
    const tmp = path.join(this.bucketDir(bucket), 'tmp', `${randomBytes(12).toString('hex')}.part`);
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
      await this.writeMeta(bucket, metaTarget, {
        ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
        ...(policy === undefined ? {} : { policy }),
      });
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

  private async writeMeta(bucket: string, target: string, meta: ObjectMeta): Promise<void> {
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const tmp = path.join(this.bucketDir(bucket), 'tmp', `${randomBytes(12).toString('hex')}.meta`);
    await fs.writeFile(tmp, JSON.stringify(meta), { mode: 0o600, flag: 'wx' });
    try {
      await fs.rename(tmp, target);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
  }

  private async readMeta(bucket: string, key: string): Promise<ObjectMeta> {
    let text: string;
    try {
      text = await fs.readFile(this.metaPath(bucket, key), 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return {};
      throw error;
    }
    const raw = JSON.parse(text) as { contentType?: unknown; policy?: unknown };
    return {
      ...(typeof raw.contentType === 'string' ? { contentType: raw.contentType } : {}),
      ...(raw.policy === undefined ? {} : { policy: parseReadPolicy(raw.policy) }),
    };
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<Readable> {
    const file = this.objectPath(bucket, key);
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
      stat = await fs.stat(this.objectPath(bucket, key));
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error;
    }
    if (!stat.isFile()) return undefined;
    const meta = await this.readMeta(bucket, key);
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
    for (const file of [this.objectPath(bucket, key), this.metaPath(bucket, key)]) {
      try {
        await fs.unlink(file);
      } catch (error) {
        if (!isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM')) throw error;
      }
    }
    await this.pruneEmptyDirs(bucket, key);
  }

  /** Removes folders left empty by a delete, so listing stays cheap and keys can become folders again. */
  private async pruneEmptyDirs(bucket: string, key: string): Promise<void> {
    const segments = key.split('/').slice(0, -1);
    for (let depth = segments.length; depth > 0; depth--) {
      const rel = segments.slice(0, depth).join('/');
      for (const tree of ['objects', 'meta']) {
        try {
          await fs.rmdir(path.join(this.bucketDir(bucket), tree, rel));
        } catch (error) {
          if (!isErrno(error, 'ENOENT', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR')) throw error;
        }
      }
    }
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
    const root = path.join(this.bucketDir(bucket), 'objects');
    const slash = prefix.lastIndexOf('/');
    const startRel = slash < 0 ? '' : prefix.slice(0, slash);
    yield* this.walk(bucket, root, startRel, prefix);
  }

  private async *walk(
    bucket: string,
    root: string,
    rel: string,
    prefix: string,
  ): AsyncGenerator<StoredObjectInfo> {
    let entries;
    try {
      entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) {
          yield* this.walk(bucket, root, key, prefix);
        }
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const info = await this.headObject(bucket, key);
        if (info !== undefined) yield info;
      }
    }
  }

  async setPolicy(bucket: string, key: string, policy: ReadPolicy): Promise<void> {
    const clean = parseReadPolicy(policy);
    if ((await this.headObject(bucket, key)) === undefined) throw new ObjectNotFoundError(bucket, key);
    const meta = await this.readMeta(bucket, key);
    await this.writeMeta(bucket, this.metaPath(bucket, key), { ...meta, policy: clean });
  }

  async getPolicy(bucket: string, key: string): Promise<ReadPolicy | undefined> {
    if ((await this.headObject(bucket, key)) === undefined) throw new ObjectNotFoundError(bucket, key);
    return (await this.readMeta(bucket, key)).policy;
  }

  async canRead(principal: Principal, bucket: string, key: string): Promise<boolean> {
    if ((await this.headObject(bucket, key)) === undefined) return false;
    return policyAllows((await this.readMeta(bucket, key)).policy, principal);
  }
}
