import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { canonicalJson, type DataManifest } from '@decenter/core';
import {
  buildManifest,
  LocalDiskBackend,
  manifestBytes,
  manifestDigest,
  storeObject,
  type Principal,
  type ReadPolicy,
} from '@decenter/storage';

import { DataFetcher, parseStorageUri, type LedgerDataCommitment } from './data.fetcher';
import { TrialFailedError } from './executor.errors';

const BUCKET = 'jobs-bucket';
const OWNER = { mspId: 'Org1MSP', id: 'x509::owner' };
const EXECUTOR: Principal = { mspId: 'Org2MSP', id: 'x509::executor', role: 'executor' };
const NODES: ReadPolicy = { owner: OWNER, readers: [{ kind: 'role', role: 'executor' }] };
const SEALED: ReadPolicy = { owner: OWNER, readers: [{ kind: 'role', role: 'validator' }] };
const SPEC = { name: 'x', task: 'classification' };

async function failure(promise: Promise<unknown>): Promise<TrialFailedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TrialFailedError) return error;
    throw error;
  }
  throw new Error('expected a TrialFailedError');
}

describe('DataFetcher', () => {
  let root: string;
  let backend: LocalDiskBackend;
  let manifest: DataManifest;
  let job: LedgerDataCommitment;
  let fetcher: DataFetcher;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'fetcher-'));
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
      await put('train.csv', 'a,b\n' + '1,2\n'.repeat(1200), 'train', NODES),
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
    fetcher = new DataFetcher(backend, path.join(root, 'cache'), EXECUTOR);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('parses storage locations and refuses others', () => {
    expect(parseStorageUri('local://b/jobs/j1/')).toEqual({ bucket: 'b', prefix: 'jobs/j1' });
    expect(() => parseStorageUri('gnfd://b/jobs/j1')).toThrow(TrialFailedError);
  });

  it('fetches verified objects, joins their parts, and caches them by digest', async () => {
    const loaded = await fetcher.loadManifest(job);
    expect(loaded.manifest).toEqual(manifest);
    expect(await fetcher.loadSpec(job, loaded.manifest, loaded.location)).toEqual(SPEC);
    const train = fetcher.objectsOf(manifest, 'train')[0];
    if (train === undefined) throw new Error('no train object');
    expect(train.parts.length).toBeGreaterThan(1);
    const [a, b] = await Promise.all([
      fetcher.materialize(train, manifest, loaded.location, path.join(root, 'trial'), 'train.csv'),
      fetcher.materialize(train, manifest, loaded.location, path.join(root, 'trial2'), 'train.csv'),
    ]);
    expect(await readFile(a, 'utf8')).toBe('a,b\n' + '1,2\n'.repeat(1200));
    expect(await readFile(b, 'utf8')).toBe(await readFile(a, 'utf8'));
    expect((await readdir(path.join(root, 'cache'))).sort()).toEqual(
      [manifest.objects[0]?.digest, train.digest].sort(),
    );
    // A cached object is served without reading storage again.
    await backend.deletePrefix(BUCKET, 'jobs/j1/train.csv');
    await fetcher.materialize(train, manifest, loaded.location, path.join(root, 'trial3'), 'train.csv');
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
    const train = fetcher.objectsOf(manifest, 'train')[0];
    const part = train?.parts[1];
    if (train === undefined || part === undefined) throw new Error('no second part');
    const file = path.join(root, 'store', BUCKET, 'objects', part.key);
    const bytes = await readFile(file);
    bytes[10] = (bytes[10] ?? 0) ^ 1;
    await writeFile(file, bytes);
    const error = await failure(
      fetcher.materialize(train, manifest, location, path.join(root, 'trial'), 'train.csv'),
    );
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('data part of "train.csv" does not match the digest');
    expect(await readdir(path.join(root, 'cache'))).toEqual([]);
  });

  it('never reads the holdout, and honours read policies', async () => {
    const { location } = await fetcher.loadManifest(job);
    const holdout = fetcher.objectsOf(manifest, 'holdout')[0];
    if (holdout === undefined) throw new Error('no holdout');
    expect((await failure(fetcher.fetch(holdout, manifest, location))).code).toBe('ACCESS_DENIED');
    // Even mislabelled as train, a sealed object stays unreadable: the storage policy refuses it.
    const disguised = { ...holdout, role: 'train' as const };
    const error = await failure(fetcher.fetch(disguised, manifest, location));
    expect(error.message).toContain(
      'storage policy of "holdout.csv" does not let Org2MSP executor nodes read it',
    );
  });
});
