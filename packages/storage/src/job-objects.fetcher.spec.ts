import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { canonicalJson, type DataManifest } from '@decenter/core';

import { LocalDiskBackend } from './local-disk.backend';
import { buildManifest, manifestBytes, manifestDigest } from './manifest.builder';
import {
  JobObjectsError,
  JobObjectsFetcher,
  jobStorageUri,
  parseJobStorageUri,
  type JobDataCommitment,
} from './job-objects.fetcher';
import type { Principal, ReadPolicy } from './policy';
import { storeObject } from './sharding';

const BUCKET = 'jobs-bucket';
const OWNER = { mspId: 'Org1MSP', id: 'x509::owner' };
const EXECUTOR: Principal = { mspId: 'Org2MSP', id: 'x509::executor', role: 'executor' };
const VALIDATOR: Principal = { mspId: 'Org3MSP', id: 'x509::validator', role: 'validator' };
const NODES: ReadPolicy = {
  owner: OWNER,
  readers: [
    { kind: 'role', role: 'executor' },
    { kind: 'role', role: 'validator' },
  ],
};
const SEALED: ReadPolicy = { owner: OWNER, readers: [{ kind: 'role', role: 'validator' }] };
const SPEC = { name: 'x', task: 'classification' };
const TRAIN = 'a,b\n' + '1,2\n'.repeat(1200);

async function failure(promise: Promise<unknown>): Promise<JobObjectsError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof JobObjectsError) return error;
    throw error;
  }
  throw new Error('expected a JobObjectsError');
}

describe('JobObjectsFetcher', () => {
  let root: string;
  let backend: LocalDiskBackend;
  let manifest: DataManifest;
  let job: JobDataCommitment;
  let fetcher: JobObjectsFetcher;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'job-objects-'));
    backend = new LocalDiskBackend(path.join(root, 'store'));
    await backend.createBucket(BUCKET);
    const put = (
      name: string,
      text: string,
      role: 'spec' | 'train' | 'validation' | 'holdout',
      policy: ReadPolicy,
    ) =>
      storeObject(backend, BUCKET, 'jobs/j1', name, Readable.from([Buffer.from(text)]), {
        role,
        policy,
        size: Buffer.byteLength(text),
        blockSize: 1024,
        shardSize: 2048,
      });
    const objects = [
      await put('spec.json', canonicalJson(SPEC), 'spec', NODES),
      // Three parts: the fetcher must verify and join each of them.
      await put('train.csv', TRAIN, 'train', NODES),
      await put('validation.csv', 'a,b\n3,4\n', 'validation', NODES),
      await put('holdout.csv', 'a,b\n5,6\n', 'holdout', SEALED),
    ];
    manifest = buildManifest({
      jobId: 'j1',
      objects,
      blockSize: 1024,
      shardSize: 2048,
      createdAt: '2026-01-01T00:00:00Z',
    });
    await backend.putObject(BUCKET, 'jobs/j1/metadata.json', Readable.from([manifestBytes(manifest)]), {
      policy: NODES,
    });
    job = {
      jobId: 'j1',
      storageUri: `local://${BUCKET}/jobs/j1/`,
      manifestHash: manifestDigest(manifest),
      merkleRoot: manifest.merkleRoot,
      specHash: createHash('sha256').update(canonicalJson(SPEC)).digest('hex'),
    };
    fetcher = new JobObjectsFetcher({
      backend,
      cacheDir: path.join(root, 'cache'),
      principal: EXECUTOR,
      sealedRoles: ['holdout'],
    });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const trainOf = (m: DataManifest) => {
    const train = m.objects.find((object) => object.role === 'train');
    if (train === undefined) throw new Error('no train object');
    return train;
  };

  it('parses and writes storage locations, and refuses other schemes', () => {
    expect(parseJobStorageUri('local://b/jobs/j1/')).toEqual({ bucket: 'b', prefix: 'jobs/j1' });
    expect(jobStorageUri({ bucket: 'b', prefix: 'jobs/j1' }, 'models', 't1')).toBe(
      'local://b/jobs/j1/models/t1/',
    );
    expect(() => parseJobStorageUri('gnfd://b/jobs/j1')).toThrow(JobObjectsError);
  });

  it('fetches verified objects, joins their parts, and caches them by digest', async () => {
    const loaded = await fetcher.loadManifest(job);
    expect(loaded.manifest).toEqual(manifest);
    expect(await fetcher.loadSpec(job, loaded.manifest, loaded.location)).toEqual(SPEC);
    const train = trainOf(manifest);
    expect(train.parts.length).toBeGreaterThan(1);
    const [a, b] = await Promise.all([
      fetcher.materialize(train, manifest, loaded.location, path.join(root, 'trial'), 'train.csv'),
      fetcher.materialize(train, manifest, loaded.location, path.join(root, 'trial2'), 'train.csv'),
    ]);
    expect(await readFile(a, 'utf8')).toBe(TRAIN);
    expect(await readFile(b, 'utf8')).toBe(TRAIN);
    expect((await readdir(path.join(root, 'cache'))).sort()).toEqual(
      [manifest.objects[0]?.digest, train.digest].sort(),
    );
    // A cached object is served without reading storage again.
    await backend.deletePrefix(BUCKET, 'jobs/j1/train.csv');
    await fetcher.materialize(train, manifest, loaded.location, path.join(root, 'trial3'), 'train.csv');
  });

  it('downloads a digest once however many trials ask for it at the same time', async () => {
    const { location } = await fetcher.loadManifest(job);
    const train = trainOf(manifest);
    const reads = jest.spyOn(backend, 'getObject');
    const files = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fetcher.materialize(train, manifest, location, path.join(root, `t${i}`), 'train.csv'),
      ),
    );
    // One read per part, not one per trial.
    expect(reads).toHaveBeenCalledTimes(train.parts.length);
    for (const file of files) expect(await readFile(file, 'utf8')).toBe(TRAIN);
    // No temporary file is left behind once the download is in place.
    expect(await readdir(path.join(root, 'cache'))).toEqual([train.digest]);
  });

  it('refuses a manifest that does not hash to the ledger record', async () => {
    const error = await failure(fetcher.loadManifest({ ...job, manifestHash: 'f'.repeat(64) }));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('the data was changed after the job was created');
  });

  it('refuses a Merkle root that differs from the ledger record', async () => {
    const error = await failure(fetcher.loadManifest({ ...job, merkleRoot: '0'.repeat(64) }));
    expect(error.message).toMatch(/Merkle root .* but the ledger records 0{64}/);
  });

  it('refuses a spec that does not hash to the ledger record', async () => {
    const { manifest: m, location } = await fetcher.loadManifest(job);
    const error = await failure(fetcher.loadSpec({ ...job, specHash: 'a'.repeat(64) }, m, location));
    expect(error.code).toBe('INTEGRITY');
  });

  it('detects a changed byte in a part and caches nothing of it', async () => {
    const { location } = await fetcher.loadManifest(job);
    const train = trainOf(manifest);
    const part = train.parts[1];
    if (part === undefined) throw new Error('no second part');
    const file = path.join(root, 'store', BUCKET, 'objects', part.key);
    const bytes = await readFile(file);
    bytes[10] = (bytes[10] ?? 0) ^ 1;
    await writeFile(file, bytes);
    const error = await failure(
      fetcher.materialize(train, manifest, location, path.join(root, 'trial'), 'x'),
    );
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('data part of "train.csv" does not match the digest');
    expect(await readdir(path.join(root, 'cache'))).toEqual([]);
  });

  it('never reads a sealed role, and honours read policies', async () => {
    const { location } = await fetcher.loadManifest(job);
    const holdout = manifest.objects.find((object) => object.role === 'holdout');
    if (holdout === undefined) throw new Error('no holdout');
    expect((await failure(fetcher.fetch(holdout, manifest, location))).code).toBe('ACCESS_DENIED');
    // Even mislabelled as train, a sealed object stays unreadable: the storage policy refuses it.
    const disguised = { ...holdout, role: 'train' as const };
    const error = await failure(fetcher.fetch(disguised, manifest, location));
    expect(error.message).toContain(
      'storage policy of "holdout.csv" does not let Org2MSP executor nodes read it',
    );
    // A validator, whom the policy grants, reads it.
    const validator = new JobObjectsFetcher({
      backend,
      cacheDir: path.join(root, 'vcache'),
      principal: VALIDATOR,
    });
    expect(await readFile(await validator.fetch(holdout, manifest, location), 'utf8')).toBe('a,b\n5,6\n');
  });
});
