import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { validateBucketName, validateKey } from './object-key';
import { parseReadPolicy, type ReadPolicy } from './policy';
import type { PutObjectOptions } from './storage-backend';

/** Duck-typed: errors from Node's fs are not `instanceof Error` across Jest's realms. */
export function isErrno(error: unknown, ...codes: string[]): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && codes.includes(code);
}

/** What is kept beside an object's bytes. */
export interface ObjectMeta {
  contentType?: string;
  policy?: ReadPolicy;
}

/** The metadata a write asks for; its policy is checked here, before any byte is written. */
export function metaOf(opts: PutObjectOptions): ObjectMeta {
  const policy = opts.policy === undefined ? undefined : parseReadPolicy(opts.policy);
  return {
    ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
    ...(policy === undefined ? {} : { policy }),
  };
}

/**
 * Where a local-disk store keeps things. Buckets are directories under `rootDir`: `<bucket>/objects/<key>`
 * holds the bytes, `<bucket>/meta/<key>` the content type and read policy beside them, `<bucket>/tmp` the
 * writes in flight. Files are 0600 and directories 0700: only the service account reads the store
 * directly; everyone else goes through `canRead`. Every path is built from a validated bucket name and key,
 * so none leaves `rootDir`.
 */
export class LocalDiskLayout {
  constructor(private readonly rootDir: string) {}

  bucketDir(bucket: string): string {
    return path.join(this.rootDir, validateBucketName(bucket));
  }

  objectPath(bucket: string, key: string): string {
    return path.join(this.bucketDir(bucket), 'objects', validateKey(key));
  }

  metaPath(bucket: string, key: string): string {
    return path.join(this.bucketDir(bucket), 'meta', validateKey(key));
  }

  /** A fresh name in the bucket's tmp folder: on the objects' file system, so a rename commits it. */
  tmpPath(bucket: string, extension: 'part' | 'meta'): string {
    return path.join(this.bucketDir(bucket), 'tmp', `${randomBytes(12).toString('hex')}.${extension}`);
  }

  /** Replaces the metadata of `key` at once (temp file, rename): a reader sees the old or the new one. */
  async writeMeta(bucket: string, key: string, meta: ObjectMeta): Promise<void> {
    const target = this.metaPath(bucket, key);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const tmp = this.tmpPath(bucket, 'meta');
    await fs.writeFile(tmp, JSON.stringify(meta), { mode: 0o600, flag: 'wx' });
    try {
      await fs.rename(tmp, target);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
  }

  /** The metadata of `key`, its policy checked again (the file may have been edited); none is `{}`. */
  async readMeta(bucket: string, key: string): Promise<ObjectMeta> {
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

  /** Removes folders left empty by a delete, so listing stays cheap and keys can become folders again. */
  async pruneEmptyDirs(bucket: string, key: string): Promise<void> {
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

  /**
   * The keys of the files under `<bucket>/objects` that start with `prefix`, in key order, descending
   * only into folders that can hold such keys.
   */
  async *keys(bucket: string, prefix: string): AsyncGenerator<string> {
    const slash = prefix.lastIndexOf('/');
    yield* this.walk(
      path.join(this.bucketDir(bucket), 'objects'),
      slash < 0 ? '' : prefix.slice(0, slash),
      prefix,
    );
  }

  private async *walk(root: string, rel: string, prefix: string): AsyncGenerator<string> {
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
          yield* this.walk(root, key, prefix);
        }
      } else if (entry.isFile() && key.startsWith(prefix)) {
        yield key;
      }
    }
  }
}
