import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { DataManifest, ManifestObject, ObjectRole } from '@decenter/core';
import {
  adoptParts,
  LocalDiskBackend,
  manifestBytes,
  openObject,
  openObjectWriter,
  releaseParts,
  storeObject,
  type AdoptedPart,
  type LocalPart,
  type ObjectWriter,
  type ByteRange,
  type Principal,
  type ReadPolicy,
  type StorageBackend,
} from '@decenter/storage';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';

/** Every job's objects live in this bucket, under `jobs/<jobId>/`. */
export const JOBS_BUCKET = 'decenter-jobs';

export function jobPrefix(jobId: string): string {
  return `jobs/${jobId}`;
}

/** Objects of jobs in the storage backend (local disk by default), with their read policies. */
@Injectable()
export class StorageRepository implements OnModuleInit {
  private readonly backend: StorageBackend;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.backend = new LocalDiskBackend(config.storageDir);
  }

  async onModuleInit(): Promise<void> {
    if (!(await this.backend.bucketExists(JOBS_BUCKET))) await this.backend.createBucket(JOBS_BUCKET);
  }

  storageUri(jobId: string): string {
    return `local://${JOBS_BUCKET}/${jobPrefix(jobId)}/`;
  }

  async isHealthy(): Promise<boolean> {
    return this.backend.bucketExists(JOBS_BUCKET);
  }

  /** Stores a file (sharded over SHARD_SIZE) under the job's folder; returns its manifest entry. */
  async storeFile(
    jobId: string,
    name: string,
    file: string,
    options: { role: ObjectRole; policy: ReadPolicy; contentType?: string; records?: number },
  ): Promise<ManifestObject> {
    return storeObject(this.backend, JOBS_BUCKET, jobPrefix(jobId), name, file, {
      role: options.role,
      policy: options.policy,
      blockSize: this.config.blockSize,
      shardSize: this.config.shardSize,
      ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
      ...(options.records === undefined ? {} : { records: options.records }),
    });
  }

  /** A streaming writer of an object of the job's folder: hashed and sharded as the bytes arrive. */
  openWriter(
    jobId: string,
    name: string,
    options: { role: ObjectRole; policy: ReadPolicy; contentType?: string; size?: number },
  ): ObjectWriter {
    return openObjectWriter(this.backend, JOBS_BUCKET, jobPrefix(jobId), name, {
      role: options.role,
      policy: options.policy,
      blockSize: this.config.blockSize,
      shardSize: this.config.shardSize,
      ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
      ...(options.size === undefined ? {} : { size: options.size }),
    });
  }

  /** Whether uploads can become objects without a copy (the local disk backend: a rename). */
  canAdopt(): boolean {
    return typeof this.backend.adoptFile === 'function';
  }

  /**
   * Moves an upload's part files into the job's folder as the parts of one object, with the digests the
   * upload computed (no copy, no second hash); each part taken is added to `adopted` for releaseAdopted.
   */
  async adoptUpload(
    jobId: string,
    name: string,
    parts: readonly LocalPart[],
    options: { role: ObjectRole; policy: ReadPolicy; contentType?: string; records?: number },
    adopted: AdoptedPart[],
  ): Promise<ManifestObject> {
    return adoptParts(
      this.backend,
      JOBS_BUCKET,
      jobPrefix(jobId),
      name,
      parts,
      {
        role: options.role,
        policy: options.policy,
        blockSize: this.config.blockSize,
        shardSize: this.config.shardSize,
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
        ...(options.records === undefined ? {} : { records: options.records }),
      },
      adopted,
    );
  }

  /** Moves adopted parts back to the uploads they came from (a failed ingest keeps the uploads for a retry). */
  async releaseAdopted(adopted: readonly AdoptedPart[]): Promise<void> {
    await releaseParts(this.backend, JOBS_BUCKET, adopted);
  }

  async putManifest(jobId: string, manifest: DataManifest, policy: ReadPolicy): Promise<void> {
    const bytes = manifestBytes(manifest);
    await this.backend.putObject(JOBS_BUCKET, `${jobPrefix(jobId)}/metadata.json`, Readable.from([bytes]), {
      contentType: 'application/json',
      policy,
      expectedSize: bytes.length,
    });
  }

  /** Reads a JSON object of the job's folder, or undefined when it does not exist. */
  async readJson(jobId: string, name: string): Promise<unknown> {
    const key = `${jobPrefix(jobId)}/${name}`;
    if ((await this.backend.headObject(JOBS_BUCKET, key)) === undefined) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of await this.backend.getObject(JOBS_BUCKET, key)) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  }

  /**
   * Reads a JSON object of the job's folder for `principal`: undefined when it does not exist, 'forbidden'
   * when its read policy does not name them.
   */
  async readReadableJson(jobId: string, name: string, principal: Principal): Promise<unknown> {
    const key = `${jobPrefix(jobId)}/${name}`;
    if ((await this.backend.headObject(JOBS_BUCKET, key)) === undefined) return undefined;
    if (!(await this.backend.canRead(principal, JOBS_BUCKET, key))) return 'forbidden';
    return this.readJson(jobId, name);
  }

  /** Size of a plain object of the job's folder, or undefined when there is none. */
  async objectSize(jobId: string, name: string): Promise<number | undefined> {
    return (await this.backend.headObject(JOBS_BUCKET, `${jobPrefix(jobId)}/${name}`))?.size;
  }

  async canReadObject(principal: Principal, jobId: string, name: string): Promise<boolean> {
    return this.backend.canRead(principal, JOBS_BUCKET, `${jobPrefix(jobId)}/${name}`);
  }

  /** Streams a plain (unsharded) object of the job's folder. */
  openPlain(jobId: string, name: string, range?: ByteRange): Promise<Readable> {
    return this.backend.getObject(JOBS_BUCKET, `${jobPrefix(jobId)}/${name}`, range);
  }

  /** Whether `principal` may read every part of the object. */
  async canRead(principal: Principal, object: ManifestObject): Promise<boolean> {
    for (const part of object.parts) {
      if (!(await this.backend.canRead(principal, JOBS_BUCKET, part.key))) return false;
    }
    return true;
  }

  /** Streams an object joined from its parts, each part verified against its digest as it streams. */
  openVerified(object: ManifestObject, range?: ByteRange): Readable {
    return openObject(this.backend, JOBS_BUCKET, object, {
      verify: true,
      blockSize: this.config.blockSize,
      ...(range === undefined ? {} : { range }),
    });
  }

  /** Deletes everything under the job's folder; returns how many objects went. */
  async deleteJobObjects(jobId: string): Promise<number> {
    return this.backend.deletePrefix(JOBS_BUCKET, `${jobPrefix(jobId)}/`);
  }

  /** A local file as a stream (ingest reads uploads through here, not through `fs` in services). */
  readFile(file: string): Readable {
    return createReadStream(file);
  }
}
