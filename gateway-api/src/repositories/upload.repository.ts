import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';

import { Inject, Injectable } from '@nestjs/common';
import { FileStore } from '@tus/file-store';
import { BlockHasher, digestFile } from '@decenter/storage';
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
  completedAt: z.string().optional(),
});
export type UploadRecord = z.infer<typeof uploadRecordSchema>;

interface HashState {
  hasher: BlockHasher;
  /** False once a write failed part-way: the bytes hashed may then differ from the bytes on disk. */
  intact: boolean;
}

/**
 * A tus file store that hashes each PATCH body on its way to disk (block Merkle digest, leaves hashed in
 * @decenter/storage's worker pool), so a file uploaded in one go is hashed exactly once. When a write breaks
 * off, the in-memory hash no longer matches the file; the upload then still resumes, and its digest is taken
 * from the file on disk when it completes.
 */
export class HashingFileStore extends FileStore {
  readonly hashes = new Map<string, HashState>();

  constructor(
    directory: string,
    private readonly blockSize: number,
  ) {
    super({ directory });
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    let state = this.hashes.get(id);
    if (state === undefined && offset === 0) {
      state = { hasher: new BlockHasher({ blockSize: this.blockSize }), intact: true };
      this.hashes.set(id, state);
    }
    if (state !== undefined && (!state.intact || state.hasher.size !== offset)) {
      await this.dropHash(id);
      state = undefined;
    }
    if (state === undefined) return super.write(readable, id, offset);
    const { hasher } = state;
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hasher.update(chunk).then(
          () => {
            callback(null, chunk);
          },
          (error: unknown) => {
            callback(error instanceof Error ? error : new Error(String(error)));
          },
        );
      },
    });
    readable.on('error', (error) => tee.destroy(error));
    try {
      return await super.write(readable.pipe(tee), id, offset);
    } catch (error) {
      state.intact = false;
      throw error;
    }
  }

  async dropHash(id: string): Promise<void> {
    const state = this.hashes.get(id);
    this.hashes.delete(id);
    await state?.hasher.abort();
  }
}

/** Upload bytes on disk (tus FileStore under STORAGE_DIR/uploads) and their records in Redis. */
@Injectable()
export class UploadRepository {
  readonly store: HashingFileStore;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisRepository,
  ) {
    this.store = new HashingFileStore(config.uploadDir, config.blockSize);
  }

  async ensureDirectory(): Promise<void> {
    await mkdir(this.config.uploadDir, { recursive: true, mode: 0o700 });
  }

  filePath(id: string): string {
    return path.join(this.config.uploadDir, id);
  }

  /** The digest of a completed upload: from the streaming hash when it saw every byte, else from disk. */
  async digestOf(id: string, size: number): Promise<string> {
    const state = this.store.hashes.get(id);
    this.store.hashes.delete(id);
    if (state?.intact === true && state.hasher.size === size) return (await state.hasher.digest()).digest;
    await state?.hasher.abort();
    return (await digestFile(this.filePath(id), { blockSize: this.config.blockSize })).digest;
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
