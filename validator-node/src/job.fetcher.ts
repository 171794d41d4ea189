import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import { parseJobSpec, type DataManifest, type JobSpec } from '@decenter/core';
import {
  JobObjectsFetcher,
  objectsRoot,
  parseJobStorageUri,
  type JobDataCommitment,
  type JobLocation,
  type Principal,
  type StorageBackend,
} from '@decenter/storage';

import { ValidatorError } from './validator.errors';

/** Where a job's folder lives: `local://<bucket>/<prefix>/`, as the gateway records it on the ledger. */
export type StorageLocation = JobLocation;

export const parseStorageUri = parseJobStorageUri;

/** What the fetched data must match on the ledger. */
export interface JobCommitment extends JobDataCommitment {
  holdoutHash: string;
}

export interface FetchedJob {
  location: StorageLocation;
  manifest: DataManifest;
  spec: JobSpec;
}

/**
 * Reads a job's data for validation through @decenter/storage's JobObjectsFetcher (manifest against the
 * ledger's hash, objects against its Merkle root, every part against its digest, cached by digest), and
 * checks what only validators read: the holdout objects against the ledger's holdout commitment.
 */
export class JobFetcher extends JobObjectsFetcher {
  constructor(backend: StorageBackend, cacheDir: string, principal: Principal) {
    super({ backend, cacheDir, principal });
  }

  async loadJob(job: JobCommitment): Promise<FetchedJob> {
    const { manifest, location } = await this.loadManifest(job);
    const holdout = this.objectsOf(manifest, 'holdout');
    if (holdout.length === 0 || objectsRoot(holdout) !== job.holdoutHash) {
      throw new ValidatorError(
        'INTEGRITY',
        `the holdout of job ${job.jobId} does not match the ledger's holdout commitment ${job.holdoutHash}`,
        { hint: 'The sealed holdout was changed or removed; the job cannot be scored fairly.' },
      );
    }
    const spec = parseJobSpec(await this.loadSpec(job, manifest, location));
    return { location, manifest, spec };
  }

  /**
   * Downloads every object under `<job folder>/candidates/<trialId>/` into `dir`, keeping relative paths.
   * Unverified here: the candidate's checks (hash, weights, replay) decide whether its files can be trusted.
   */
  async fetchCandidateFolder(location: StorageLocation, trialId: string, dir: string): Promise<string[]> {
    const prefix = `${location.prefix}/candidates/${trialId}/`;
    const files: string[] = [];
    await rm(dir, { recursive: true, force: true });
    for await (const info of this.options.backend.listObjects(location.bucket, prefix)) {
      const relative = info.key.slice(prefix.length);
      if (relative === '' || relative.split('/').some((part) => part === '..' || part === '.')) continue;
      await this.requireReadable(location.bucket, info.key, `candidate ${trialId}`);
      const target = path.join(dir, ...relative.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await pipeline(
        await this.options.backend.getObject(location.bucket, info.key),
        createWriteStream(target),
      );
      files.push(relative);
    }
    return files.sort();
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
  const chunks: Buffer[] = [];
  for await (const chunk of await backend.getObject(bucket, key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
