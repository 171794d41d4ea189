import { mkdir, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { Inject, Injectable } from '@nestjs/common';
import { FileStore } from '@tus/file-store';
import { ERRORS, type Upload } from '@tus/server';
import { BlockHasher, digestStream, joinFiles, merkleRoot, type DigestResult } from '@decenter/storage';
import { z } from 'zod';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import { RedisRepository } from './redis.repository';

export const uploadRecordSchema = z.strictObject({
  id: z.string(),
  /** `<org>/<username>` of the session that created it: nobody else may touch it. */
  owner: z.string(),
  filename: z.string(),
  size: z.int().min(0),
  /** Digest the client declared (tus metadata `digest`). */
  declaredDigest: z.string(),
  /** ISO 8601 time of creation: unfinished uploads older than UPLOAD_EXPIRY_HOURS are swept. */
  createdAt: z.string(),
  /** Set once the upload completed and its digest matched. */
  digest: z.string().optional(),
  /** Digest of each part file (SHARD_SIZE bytes each), so ingest can store the parts as they are. */
  partDigests: z.array(z.string()).optional(),
  completedAt: z.string().optional(),
});
export type UploadRecord = z.infer<typeof uploadRecordSchema>;

/** A completed upload's bytes as stored: part files of SHARD_SIZE bytes (the last one shorter) and digests. */
export interface UploadParts {
  size: number;
  digest: string;
  parts: { path: string; size: number; digest: string }[];
}

interface HashState {
  hasher: BlockHasher;
  files: PartFiles;
  /** False once a write failed part-way: the bytes hashed may then differ from the bytes on disk. */
  intact: boolean;
}

/** `<id>` holds the first SHARD_SIZE bytes, `<id>.part-00001`... the next ones: the parts storage keeps. */
export function uploadPartPath(directory: string, id: string, index: number): string {
  return path.join(directory, index === 0 ? id : `${id}.part-${String(index).padStart(5, '0')}`);
}

/** Open handles of an upload's part files, for the writes of one request (closed when it ends). */
class PartFiles {
  private readonly handles = new Map<number, Promise<FileHandle>>();

  constructor(
    private readonly directory: string,
    private readonly id: string,
    private readonly shardSize: number,
  ) {}

  /** Writes bytes at their offset in the upload; they never cross a part boundary (blocks divide parts). */
  readonly write = async (bytes: Uint8Array, position: number): Promise<void> => {
    const index = Math.floor(position / this.shardSize);
    let handle = this.handles.get(index);
    if (handle === undefined) {
      // 'w' would truncate bytes of an earlier request; 'a+' cannot write at an offset on Linux.
      handle = open(uploadPartPath(this.directory, this.id, index), 'r+').catch(async (error: unknown) => {
        if ((error as { code?: string }).code !== 'ENOENT') throw error;
        return open(uploadPartPath(this.directory, this.id, index), 'w+', 0o600);
      });
      this.handles.set(index, handle);
    }
    const file = await handle;
    let at = position - index * this.shardSize;
    for (let done = 0; done < bytes.length;) {
      const { bytesWritten } = await file.write(bytes, done, bytes.length - done, at);
      done += bytesWritten;
      at += bytesWritten;
    }
  };

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.allSettled(handles.map(async (handle) => (await handle).close()));
  }
}

/**
 * A tus file store that writes each PATCH body straight into the upload's part files (SHARD_SIZE each, so
 * ingest can move them into storage as they are) while hashing it: the bytes are copied once into shared
 * 4 MiB blocks, each written to disk and hashed in @decenter/storage's worker pool at the same time, so a
 * file uploaded in one go or resumed on the same gateway is hashed exactly once, off the request thread.
 * When a write fails part-way the in-memory hash may no longer match the files; the upload then still
 * resumes, and its digest is taken from the files on disk when it completes.
 */
export class HashingFileStore extends FileStore {
  readonly hashes = new Map<string, HashState>();

  constructor(
    private readonly uploadDirectory: string,
    private readonly blockSize: number,
    private readonly shardSize: number,
  ) {
    super({ directory: uploadDirectory });
  }

  partPath(id: string, index: number): string {
    return uploadPartPath(this.uploadDirectory, id, index);
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    let state = this.hashes.get(id);
    if (state === undefined && offset === 0) {
      const files = new PartFiles(this.uploadDirectory, id, this.shardSize);
      state = {
        hasher: new BlockHasher({ blockSize: this.blockSize, sink: files.write }),
        files,
        intact: true,
      };
      this.hashes.set(id, state);
    }
    if (state !== undefined && (!state.intact || state.hasher.size !== offset)) {
      await this.dropHash(id);
      state = undefined;
    }
    if (state === undefined) return this.writeUnhashed(readable, id, offset);
    const { hasher, files } = state;
    try {
      for await (const chunk of readable) await hasher.update(chunk as Buffer);
    } catch (error) {
      // What arrived before the connection broke is kept (tus resumes from it), so it must be on disk.
      await hasher.sync().catch(() => (state.intact = false));
      await files.close();
      throw toWriteError(error);
    }
    try {
      await hasher.sync();
    } catch (error) {
      state.intact = false;
      throw toWriteError(error);
    } finally {
      await files.close();
    }
    return hasher.size;
  }

  /** A resumed upload the gateway has no running hash for: bytes go to the part files as they come. */
  private async writeUnhashed(readable: Readable, id: string, offset: number): Promise<number> {
    const files = new PartFiles(this.uploadDirectory, id, this.shardSize);
    let position = offset;
    try {
      for await (const raw of readable) {
        const chunk = raw as Buffer;
        for (let at = 0; at < chunk.length;) {
          const n = Math.min(chunk.length - at, this.shardSize - (position % this.shardSize));
          await files.write(chunk.subarray(at, at + n), position);
          at += n;
          position += n;
        }
      }
    } catch (error) {
      throw toWriteError(error);
    } finally {
      await files.close();
    }
    return position;
  }

  /** tus's offset is every byte stored: the sum of the part files. */
  override async getUpload(id: string): Promise<Upload> {
    const upload = await super.getUpload(id);
    let offset = upload.offset;
    for (let index = 1; offset === index * this.shardSize; index++) {
      const size = await stat(this.partPath(id, index)).then(
        (info) => info.size,
        () => undefined,
      );
      if (size === undefined) break;
      offset += size;
    }
    upload.offset = offset;
    return upload;
  }

  /** Deletes every part file (ingest may have moved them into storage already) and tus's record. */
  override async remove(id: string): Promise<void> {
    let found = false;
    for (let index = 0; ; index++) {
      try {
        await unlink(this.partPath(id, index));
        found = true;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT') throw error;
        if (index > 0) break;
      }
    }
    const known = (await this.configstore.get(id)) !== undefined;
    if (known) await this.configstore.delete(id);
    // tus's own "not found" (a plain object the server turns into its 404 answer), as FileStore throws it.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (!found && !known) throw ERRORS.FILE_NOT_FOUND;
  }

  async dropHash(id: string): Promise<void> {
    const state = this.hashes.get(id);
    this.hashes.delete(id);
    await state?.hasher.abort();
    await state?.files.close();
  }
}

/** tus answers a failed write with its own error object (a 500 the client may retry), as FileStore does. */
function toWriteError(error: unknown): unknown {
  return (error as { status_code?: unknown } | null)?.status_code === undefined
    ? ERRORS.FILE_WRITE_ERROR
    : error;
}

/** Upload bytes on disk (tus FileStore under STORAGE_DIR/uploads) and their records in Redis. */
@Injectable()
export class UploadRepository {
  readonly store: HashingFileStore;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisRepository,
  ) {
    this.store = new HashingFileStore(config.uploadDir, config.blockSize, config.shardSize);
  }

  async ensureDirectory(): Promise<void> {
    await mkdir(this.config.uploadDir, { recursive: true, mode: 0o700 });
  }

  /** The first part file of an upload (the whole upload when it is not over SHARD_SIZE). */
  filePath(id: string): string {
    return this.store.partPath(id, 0);
  }

  /** Paths of the part files of an upload of `size` bytes, in order. */
  partPaths(id: string, size: number): string[] {
    const count = Math.max(1, Math.ceil(size / this.config.shardSize));
    return Array.from({ length: count }, (_, index) => this.store.partPath(id, index));
  }

  /**
   * The digest of a completed upload and of each of its parts: from the streaming hash when it saw every
   * byte, else from the files on disk (read once, in order).
   */
  async digestOf(id: string, size: number): Promise<UploadParts> {
    const state = this.store.hashes.get(id);
    this.store.hashes.delete(id);
    let result: DigestResult;
    if (state?.intact === true && state.hasher.size === size) {
      result = await state.hasher.digest();
    } else {
      await state?.hasher.abort();
      result = await digestStream(joinFiles(this.partPaths(id, size)), { blockSize: this.config.blockSize });
    }
    const blocksPerPart = this.config.shardSize / this.config.blockSize;
    const paths = this.partPaths(id, size);
    return {
      size: result.size,
      digest: result.digest,
      parts: paths.map((file, index) => ({
        path: file,
        size: Math.min(this.config.shardSize, result.size - index * this.config.shardSize),
        digest: merkleRoot(result.leaves.slice(index * blocksPerPart, (index + 1) * blocksPerPart)).toString(
          'hex',
        ),
      })),
    };
  }

  /** Deletes the bytes, tus's record and ours, and frees the owner's quota. */
  async remove(record: Pick<UploadRecord, 'id' | 'owner'>): Promise<void> {
    await this.store.dropHash(record.id);
    await this.store.remove(record.id).catch((error: unknown) => {
      // Already gone is what we want.
      if ((error as { status_code?: number }).status_code !== 404) throw error;
    });
    await this.redis.delete(this.recordKey(record.id));
    await this.redis.hashDelete(this.quotaKey(record.owner), record.id);
  }

  private recordKey(id: string): string {
    return this.redis.key('upload', id);
  }

  private quotaKey(owner: string): string {
    return this.redis.key('upload-bytes', owner);
  }

  async saveRecord(record: UploadRecord): Promise<void> {
    // Uploads outlive sessions (an ingest may run for hours), so the record has no expiry of its own.
    await this.redis.client.set(this.recordKey(record.id), JSON.stringify(uploadRecordSchema.parse(record)));
  }

  async findRecord(id: string): Promise<UploadRecord | undefined> {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) return undefined;
    const value = await this.redis.getJson(this.recordKey(id));
    if (value === undefined) return undefined;
    const parsed = uploadRecordSchema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Reserves `size` bytes of the owner's quota for an upload; returns the owner's total including it.
   * Reserving first and checking after means two racing uploads can never both slip under the limit.
   */
  async reserveQuota(owner: string, id: string, size: number): Promise<number> {
    const key = this.quotaKey(owner);
    await this.redis.hashSet(key, id, String(size));
    const all = await this.redis.hashGetAll(key);
    return Object.values(all).reduce((sum, value) => sum + Number(value), 0);
  }

  /** Ids of every upload with a record, read in batches (SCAN) so Redis is never blocked. */
  async *allIds(): AsyncGenerator<string> {
    const prefix = this.recordKey('');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) yield key.slice(prefix.length);
    } while (cursor !== '0');
  }

  async releaseQuota(owner: string, id: string): Promise<void> {
    await this.redis.hashDelete(this.quotaKey(owner), id);
  }
}
