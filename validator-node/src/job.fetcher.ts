import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import {
  canonicalJson,
  dataManifestSchema,
  parseJobSpec,
  type DataManifest,
  type JobSpec,
  type ManifestObject,
  type ObjectRole,
} from '@decenter/core';
import { objectsRoot, openObject, type Principal, type StorageBackend } from '@decenter/storage';

import { ValidatorError } from './validator.errors';

/** Where a job's folder lives: `local://<bucket>/<prefix>/`, as the gateway records it on the ledger. */
export interface StorageLocation {
  bucket: string;
  prefix: string;
}

export function parseStorageUri(uri: string): StorageLocation {
  const match = /^local:\/\/([^/]+)\/(.+?)\/*$/.exec(uri);
  if (match === null) {
    throw new ValidatorError(
      'INVALID_ARGUMENT',
      `the storage location "${uri}" is not local://BUCKET/PREFIX/`,
      {
        hint: 'This node reads the local object store; run a validator with the storage backend the job uses.',
      },
    );
  }
  return { bucket: match[1] as string, prefix: match[2] as string };
}

/** What the fetched data must match on the ledger. */
export interface JobCommitment {
  jobId: string;
  storageUri: string;
  manifestHash: string;
  merkleRoot: string;
  specHash: string;
  holdoutHash: string;
}

export interface FetchedJob {
  location: StorageLocation;
  manifest: DataManifest;
  spec: JobSpec;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Reads a job's data for validation and trusts nothing it reads: metadata.json must hash to the ledger's
 * manifest hash, its objects to the Merkle root, the holdout objects to the holdout commitment, and every
 * part to its digest as it streams. Verified objects are cached by digest.
 */
export class JobFetcher {
  constructor(
    private readonly backend: StorageBackend,
    private readonly cacheDir: string,
    private readonly principal: Principal,
  ) {}

  async loadJob(job: JobCommitment): Promise<FetchedJob> {
    const location = parseStorageUri(job.storageUri);
    const bytes = await this.readSmall(location.bucket, `${location.prefix}/metadata.json`, 'metadata.json');
    if (sha256(bytes) !== job.manifestHash) {
      throw new ValidatorError(
        'INTEGRITY',
        `metadata.json of job ${job.jobId} hashes to ${sha256(bytes)}, but the ledger records ${job.manifestHash}`,
        { hint: 'The job data was changed after the job was created; the owner must restore it.' },
      );
    }
    const parsed = dataManifestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!parsed.success) {
      throw new ValidatorError('INVALID_DATA', `metadata.json of job ${job.jobId} is malformed`, {
        cause: parsed.error,
      });
    }
    const manifest = parsed.data;
    const root = objectsRoot(manifest.objects);
    if (root !== manifest.merkleRoot || root !== job.merkleRoot) {
      throw new ValidatorError(
        'INTEGRITY',
        `the Merkle root of job ${job.jobId}'s objects is ${root}, but the ledger records ${job.merkleRoot}`,
      );
    }
    const holdout = this.objectsOf(manifest, 'holdout');
    if (holdout.length === 0 || objectsRoot(holdout) !== job.holdoutHash) {
      throw new ValidatorError(
        'INTEGRITY',
        `the holdout of job ${job.jobId} does not match the ledger's holdout commitment ${job.holdoutHash}`,
        { hint: 'The sealed holdout was changed or removed; the job cannot be scored fairly.' },
      );
    }
    const specObject = this.objectsOf(manifest, 'spec')[0];
    if (specObject === undefined) {
      throw new ValidatorError('INVALID_DATA', `the manifest of job ${job.jobId} has no spec object`);
    }
    const specBytes = await readFile(await this.fetch(specObject, manifest, location));
    const raw: unknown = JSON.parse(specBytes.toString('utf8'));
    if (sha256(specBytes) !== job.specHash && sha256(canonicalJson(raw)) !== job.specHash) {
      throw new ValidatorError(
        'INTEGRITY',
        `the stored spec of job ${job.jobId} does not hash to the ledger's ${job.specHash}`,
      );
    }
    return { location, manifest, spec: parseJobSpec(raw) };
  }

  objectsOf(manifest: DataManifest, role: ObjectRole): ManifestObject[] {
    return manifest.objects.filter((object) => object.role === role);
  }

  /** The verified copy of `object` in the cache, downloaded when missing. */
  async fetch(object: ManifestObject, manifest: DataManifest, location: StorageLocation): Promise<string> {
    const cached = path.join(this.cacheDir, object.digest);
    if (await exists(cached)) return cached;
    for (const part of object.parts) await this.requireReadable(location.bucket, part.key, object.name);
    await mkdir(this.cacheDir, { recursive: true, mode: 0o700 });
    const temp = path.join(this.cacheDir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await pipeline(
        openObject(this.backend, location.bucket, object, { verify: true, blockSize: manifest.blockSize }),
        createWriteStream(temp, { mode: 0o600 }),
      );
      await rename(temp, cached);
      return cached;
    } catch (cause) {
      await rm(temp, { force: true });
      throw new ValidatorError('INTEGRITY', `"${object.name}" cannot be read or does not match its digest`, {
        cause,
        hint: 'The stored data was changed after the job was created; the job owner must restore it.',
      });
    }
  }

  /**
   * Downloads every object under `<job folder>/candidates/<trialId>/` into `dir`, keeping relative paths.
   * Unverified here: the candidate's checks (hash, weights, replay) decide whether its files can be trusted.
   */
  async fetchCandidateFolder(location: StorageLocation, trialId: string, dir: string): Promise<string[]> {
    const prefix = `${location.prefix}/candidates/${trialId}/`;
    const files: string[] = [];
    await rm(dir, { recursive: true, force: true });
    for await (const info of this.backend.listObjects(location.bucket, prefix)) {
      const relative = info.key.slice(prefix.length);
      if (relative === '' || relative.split('/').some((part) => part === '..' || part === '.')) continue;
      await this.requireReadable(location.bucket, info.key, `candidate ${trialId}`);
      const target = path.join(dir, ...relative.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await pipeline(await this.backend.getObject(location.bucket, info.key), createWriteStream(target));
      files.push(relative);
    }
    return files.sort();
  }

  private async readSmall(bucket: string, key: string, what: string): Promise<Buffer> {
    await this.requireReadable(bucket, key, what);
    try {
      return await readAll(await this.backend.getObject(bucket, key));
    } catch (cause) {
      throw new ValidatorError('NOT_FOUND', `${what} cannot be read from storage (${bucket}/${key})`, {
        cause,
        hint: 'Check that the validator reads the same storage as the gateway (DECENTER_STORAGE_DIR).',
      });
    }
  }

  private async requireReadable(bucket: string, key: string, what: string): Promise<void> {
    if (!(await this.backend.canRead(this.principal, bucket, key))) {
      throw new ValidatorError(
        'ACCESS_DENIED',
        `the storage policy of "${what}" does not let ${this.principal.mspId} ${this.principal.role} nodes read it`,
        { hint: "The job's read policies must grant validator nodes (role validator) read access." },
      );
    }
  }
}

/** Reads a small object whole (metadata, state files) after checking the reader may. */
export async function readObject(
  backend: StorageBackend,
  principal: Principal,
  bucket: string,
  key: string,
): Promise<Buffer> {
  if (!(await backend.canRead(principal, bucket, key))) {
    throw new ValidatorError('ACCESS_DENIED', `the storage policy of ${key} does not let this node read it`);
  }
  return readAll(await backend.getObject(bucket, key));
}
