import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import {
  canonicalJson,
  dataManifestSchema,
  type DataManifest,
  type ManifestObject,
  type ObjectRole,
} from '@decenter/core';
import { objectsRoot, openObject, type Principal, type StorageBackend } from '@decenter/storage';

import { TrialFailedError } from './executor.errors';

/** Where a job's folder lives: `local://<bucket>/<prefix>/`, as the gateway records it on the ledger. */
export interface StorageLocation {
  bucket: string;
  prefix: string;
}

export function parseStorageUri(uri: string): StorageLocation {
  const match = /^local:\/\/([^/]+)\/(.+?)\/*$/.exec(uri);
  if (match === null) {
    throw new TrialFailedError(
      'INVALID_ARGUMENT',
      `the job's storage location "${uri}" is not local://BUCKET/PREFIX/`,
      {
        hint: 'This node reads the local object store; run a node with the storage backend the job uses.',
      },
    );
  }
  return { bucket: match[1] as string, prefix: match[2] as string };
}

export function storageUri(location: StorageLocation, ...segments: string[]): string {
  return `local://${location.bucket}/${[location.prefix, ...segments].join('/')}/`;
}

/** What a trial's data must match on the ledger. */
export interface LedgerDataCommitment {
  jobId: string;
  storageUri: string;
  manifestHash: string;
  merkleRoot: string;
  specHash: string;
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

/**
 * Fetches what a trial needs from storage, trusting nothing it reads: `metadata.json` must hash to the
 * ledger's manifestHash and its objects to the ledger's Merkle root; every part is verified against its
 * digest as it streams. Verified objects are cached by digest, so the next trial of the job reads them
 * from disk. Only train and validation objects (and the spec) are ever requested: never the holdout.
 */
export class DataFetcher {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly backend: StorageBackend,
    private readonly cacheDir: string,
    private readonly principal: Principal,
  ) {}

  async loadManifest(
    job: LedgerDataCommitment,
  ): Promise<{ manifest: DataManifest; location: StorageLocation }> {
    const location = parseStorageUri(job.storageUri);
    const key = `${location.prefix}/metadata.json`;
    await this.requireReadable(location.bucket, key, 'metadata.json');
    let bytes: Buffer;
    try {
      bytes = await readAll(await this.backend.getObject(location.bucket, key));
    } catch (cause) {
      throw new TrialFailedError('NOT_FOUND', `the job's metadata.json cannot be read from storage`, {
        cause,
      });
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== job.manifestHash) {
      throw new TrialFailedError(
        'INTEGRITY',
        `metadata.json in storage hashes to ${digest}, but the ledger records ${job.manifestHash}: the data was changed after the job was created`,
        { hint: 'The job owner must restore the original data or submit a new job.' },
      );
    }
    const parsed = dataManifestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!parsed.success) {
      throw new TrialFailedError(
        'INVALID_DATA',
        `metadata.json is malformed: ${parsed.error.issues[0]?.message ?? ''}`,
      );
    }
    const manifest = parsed.data;
    const root = objectsRoot(manifest.objects);
    if (root !== manifest.merkleRoot || root !== job.merkleRoot) {
      throw new TrialFailedError(
        'INTEGRITY',
        `the Merkle root of metadata.json's objects is ${root}, but the ledger records ${job.merkleRoot}`,
        { hint: 'The job owner must restore the original data or submit a new job.' },
      );
    }
    return { manifest, location };
  }

  /** The spec as stored with the job, checked against the ledger's specHash. */
  async loadSpec(
    job: LedgerDataCommitment,
    manifest: DataManifest,
    location: StorageLocation,
  ): Promise<unknown> {
    const object = this.objectsOf(manifest, 'spec')[0];
    if (object === undefined) {
      throw new TrialFailedError(
        'INVALID_DATA',
        `the manifest of job ${job.jobId} has no spec object (role "spec")`,
      );
    }
    const file = await this.fetch(object, manifest, location);
    const bytes = await readFile(file);
    let spec: unknown;
    try {
      spec = JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new TrialFailedError('INVALID_SPEC', `the stored spec of job ${job.jobId} is not JSON`, {
        cause,
      });
    }
    const raw = createHash('sha256').update(bytes).digest('hex');
    const canonical = createHash('sha256').update(canonicalJson(spec)).digest('hex');
    if (raw !== job.specHash && canonical !== job.specHash) {
      throw new TrialFailedError(
        'INTEGRITY',
        `the stored spec hashes to ${canonical}, but the ledger records ${job.specHash}`,
      );
    }
    return spec;
  }

  objectsOf(manifest: DataManifest, role: ObjectRole): ManifestObject[] {
    return manifest.objects.filter((object) => object.role === role);
  }

  /** Makes `object` available as `<dir>/<name>` (a hard link to the verified cache copy). */
  async materialize(
    object: ManifestObject,
    manifest: DataManifest,
    location: StorageLocation,
    dir: string,
    name: string,
  ): Promise<string> {
    const cached = await this.fetch(object, manifest, location);
    await mkdir(dir, { recursive: true });
    const target = path.join(dir, name);
    await rm(target, { force: true });
    await link(cached, target);
    return target;
  }

  /** The verified copy of `object` in the cache, fetched (once, even when asked concurrently) if missing. */
  async fetch(object: ManifestObject, manifest: DataManifest, location: StorageLocation): Promise<string> {
    if (object.role === 'holdout') {
      throw new TrialFailedError(
        'ACCESS_DENIED',
        `"${object.name}" is the sealed holdout; execution nodes never read it`,
      );
    }
    const cached = path.join(this.cacheDir, object.digest);
    if (await exists(cached)) return cached;
    const pending = this.inFlight.get(object.digest);
    if (pending !== undefined) return pending;
    const started = this.download(object, manifest, location, cached).finally(() => {
      this.inFlight.delete(object.digest);
    });
    this.inFlight.set(object.digest, started);
    return started;
  }

  private async download(
    object: ManifestObject,
    manifest: DataManifest,
    location: StorageLocation,
    cached: string,
  ): Promise<string> {
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
      const integrity = (cause as { code?: unknown }).code === 'INTEGRITY';
      throw new TrialFailedError(
        integrity ? 'INTEGRITY' : 'UNAVAILABLE',
        integrity
          ? `data part of "${object.name}" does not match the digest recorded in the manifest: ${(cause as Error).message}`
          : `"${object.name}" cannot be read from storage: ${(cause as Error).message}`,
        {
          cause,
          hint: integrity
            ? 'The stored data was changed after the job was created; the job owner must restore it.'
            : 'Check that the node reads the same storage as the gateway (storageDir).',
        },
      );
    }
  }

  private async requireReadable(bucket: string, key: string, what: string): Promise<void> {
    if (!(await this.backend.canRead(this.principal, bucket, key))) {
      throw new TrialFailedError(
        'ACCESS_DENIED',
        `the storage policy of "${what}" does not let ${this.principal.mspId} executor nodes read it`,
        { hint: "The job's read policies must grant the consortium's node identities (role executor)." },
      );
    }
  }
}
