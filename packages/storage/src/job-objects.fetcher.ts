import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import {
  canonicalJson,
  dataManifestSchema,
  type DataManifest,
  type DecenterErrorOptions,
  type ErrorCode,
  type ManifestObject,
  type ObjectRole,
} from '@decenter/core';

import { StorageError } from './errors';
import { objectsRoot } from './manifest.builder';
import { openObject } from './object-reader';
import type { Principal } from './policy';
import type { StorageBackend } from './storage-backend';

/** A job's data, spec or model cannot be fetched or does not match what the ledger committed. */
export class JobObjectsError extends StorageError {
  override readonly name: string = 'JobObjectsError';

  constructor(code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Where a job's folder lives: `local://<bucket>/<prefix>/`, as the gateway records it on the ledger. */
export interface JobLocation {
  bucket: string;
  prefix: string;
}

export function parseJobStorageUri(uri: string): JobLocation {
  const match = /^local:\/\/([^/]+)\/(.+?)\/*$/.exec(uri);
  if (match === null) {
    throw new JobObjectsError(
      'INVALID_ARGUMENT',
      `the job's storage location "${uri}" is not local://BUCKET/PREFIX/`,
      {
        hint: 'This node reads the local object store; run a node with the storage backend the job uses.',
      },
    );
  }
  return { bucket: match[1] as string, prefix: match[2] as string };
}

export function jobStorageUri(location: JobLocation, ...segments: string[]): string {
  return `local://${location.bucket}/${[location.prefix, ...segments].join('/')}/`;
}

/** What a job's stored data must match on the ledger. */
export interface JobDataCommitment {
  jobId: string;
  storageUri: string;
  manifestHash: string;
  merkleRoot: string;
  specHash: string;
}

export interface JobObjectsFetcherOptions {
  backend: StorageBackend;
  /** Verified objects are kept here, named by their digest. */
  cacheDir: string;
  /** The node reading, as the storage policies know it. */
  principal: Principal;
  /** Roles this node must never read, whatever the storage policy says (executors: the holdout). */
  sealedRoles?: readonly ObjectRole[];
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

const RESTORE_HINT = 'The stored data was changed after the job was created; the job owner must restore it.';

/**
 * Fetches a job's objects for a node and trusts nothing it reads: `metadata.json` must hash to the
 * ledger's manifest hash and its objects to the ledger's Merkle root; every part is verified against its
 * digest as it streams, into a temporary file renamed into the cache only once whole and verified. The
 * cache is keyed by digest, so a cached file is always complete and right, and concurrent requests for one
 * digest share one download. Executors and validators both read job data through it.
 */
export class JobObjectsFetcher {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(protected readonly options: JobObjectsFetcherOptions) {}

  async loadManifest(job: JobDataCommitment): Promise<{ manifest: DataManifest; location: JobLocation }> {
    const location = parseJobStorageUri(job.storageUri);
    const bytes = await this.readObject(location.bucket, `${location.prefix}/metadata.json`, 'metadata.json');
    const digest = sha256(bytes);
    if (digest !== job.manifestHash) {
      throw new JobObjectsError(
        'INTEGRITY',
        `metadata.json of job ${job.jobId} hashes to ${digest}, but the ledger records ${job.manifestHash}: the data was changed after the job was created`,
        { hint: 'The job owner must restore the original data or submit a new job.' },
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new JobObjectsError('INVALID_DATA', `metadata.json of job ${job.jobId} is not JSON`, { cause });
    }
    const parsed = dataManifestSchema.safeParse(raw);
    if (!parsed.success) {
      throw new JobObjectsError(
        'INVALID_DATA',
        `metadata.json of job ${job.jobId} is malformed: ${parsed.error.issues[0]?.message ?? ''}`,
        { cause: parsed.error },
      );
    }
    const manifest = parsed.data;
    const root = objectsRoot(manifest.objects);
    if (root !== manifest.merkleRoot || root !== job.merkleRoot) {
      throw new JobObjectsError(
        'INTEGRITY',
        `the Merkle root of job ${job.jobId}'s objects is ${root}, but the ledger records ${job.merkleRoot}`,
        { hint: 'The job owner must restore the original data or submit a new job.' },
      );
    }
    return { manifest, location };
  }

  /** The spec as stored with the job (unparsed), checked against the ledger's specHash. */
  async loadSpec(job: JobDataCommitment, manifest: DataManifest, location: JobLocation): Promise<unknown> {
    const object = this.objectsOf(manifest, 'spec')[0];
    if (object === undefined) {
      throw new JobObjectsError(
        'INVALID_DATA',
        `the manifest of job ${job.jobId} has no spec object (role "spec")`,
      );
    }
    const bytes = await readFile(await this.fetch(object, manifest, location));
    let spec: unknown;
    try {
      spec = JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new JobObjectsError('INVALID_SPEC', `the stored spec of job ${job.jobId} is not JSON`, { cause });
    }
    // The gateway commits the hash of the canonical JSON; a spec stored byte for byte as hashed also passes.
    const canonical = sha256(canonicalJson(spec));
    if (sha256(bytes) !== job.specHash && canonical !== job.specHash) {
      throw new JobObjectsError(
        'INTEGRITY',
        `the stored spec of job ${job.jobId} hashes to ${canonical}, but the ledger records ${job.specHash}`,
        { hint: RESTORE_HINT },
      );
    }
    return spec;
  }

  objectsOf(manifest: DataManifest, role: ObjectRole): ManifestObject[] {
    return manifest.objects.filter((object) => object.role === role);
  }

  /** Makes `object` available as `<dir>/<name>`: a hard link to the verified cache copy. */
  async materialize(
    object: ManifestObject,
    manifest: DataManifest,
    location: JobLocation,
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
  async fetch(object: ManifestObject, manifest: DataManifest, location: JobLocation): Promise<string> {
    if (this.options.sealedRoles?.includes(object.role) === true) {
      throw new JobObjectsError(
        'ACCESS_DENIED',
        `"${object.name}" is a ${object.role} object; ${this.options.principal.role} nodes never read it`,
      );
    }
    const cached = path.join(this.options.cacheDir, object.digest);
    const pending = this.inFlight.get(object.digest);
    if (pending !== undefined) return pending;
    const started = this.fetchMissing(object, manifest, location, cached).finally(() => {
      this.inFlight.delete(object.digest);
    });
    this.inFlight.set(object.digest, started);
    return started;
  }

  /** Reads a small object whole (manifests, state files), after checking the storage policy lets this node. */
  async readObject(bucket: string, key: string, what: string): Promise<Buffer> {
    await this.requireReadable(bucket, key, what);
    try {
      return await readAll(await this.options.backend.getObject(bucket, key));
    } catch (cause) {
      throw new JobObjectsError('NOT_FOUND', `${what} cannot be read from storage (${bucket}/${key})`, {
        cause,
        hint: 'Check that the node reads the same storage as the gateway (its storage directory).',
      });
    }
  }

  async requireReadable(bucket: string, key: string, what: string): Promise<void> {
    const { backend, principal } = this.options;
    if (!(await backend.canRead(principal, bucket, key))) {
      throw new JobObjectsError(
        'ACCESS_DENIED',
        `the storage policy of "${what}" does not let ${principal.mspId} ${principal.role} nodes read it`,
        { hint: `The job's read policies must grant the consortium's ${principal.role} nodes read access.` },
      );
    }
  }

  private async fetchMissing(
    object: ManifestObject,
    manifest: DataManifest,
    location: JobLocation,
    cached: string,
  ): Promise<string> {
    if (await exists(cached)) return cached;
    for (const part of object.parts) await this.requireReadable(location.bucket, part.key, object.name);
    await mkdir(this.options.cacheDir, { recursive: true, mode: 0o700 });
    const temp = path.join(this.options.cacheDir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await pipeline(
        openObject(this.options.backend, location.bucket, object, {
          verify: true,
          blockSize: manifest.blockSize,
        }),
        createWriteStream(temp, { mode: 0o600 }),
      );
      await rename(temp, cached);
      return cached;
    } catch (cause) {
      await rm(temp, { force: true });
      const integrity = (cause as { code?: unknown }).code === 'INTEGRITY';
      throw new JobObjectsError(
        integrity ? 'INTEGRITY' : 'UNAVAILABLE',
        integrity
          ? `data part of "${object.name}" does not match the digest recorded in the manifest: ${(cause as Error).message}`
          : `"${object.name}" cannot be read from storage: ${(cause as Error).message}`,
        {
          cause,
          hint: integrity
            ? RESTORE_HINT
            : 'Check that the node reads the same storage as the gateway (its storage directory).',
        },
      );
    }
  }
}
