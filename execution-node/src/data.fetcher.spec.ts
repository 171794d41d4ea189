import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { JobObjectsError, LocalDiskBackend, type Principal } from '@decenter/storage';

import { DataFetcher } from './data.fetcher';

const EXECUTOR: Principal = { mspId: 'Org2MSP', id: 'x509::executor', role: 'executor' };

// Verification, caching and policies are tested with JobObjectsFetcher in @decenter/storage; what is the
// executor's own is that it refuses the holdout before asking storage.
describe('DataFetcher', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'fetcher-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('never reads the holdout, whatever the storage policy', async () => {
    const backend = new LocalDiskBackend(path.join(root, 'store'));
    const canRead = jest.spyOn(backend, 'canRead');
    const fetcher = new DataFetcher(backend, path.join(root, 'cache'), EXECUTOR);
    const holdout = {
      name: 'data/holdout.csv',
      role: 'holdout' as const,
      size: 1,
      digest: 'a'.repeat(64),
      parts: [{ index: 0, key: 'jobs/j1/data/holdout.csv', size: 1, digest: 'a'.repeat(64) }],
    };
    const manifest = {
      version: 1 as const,
      algorithm: 'sha256-merkle' as const,
      jobId: 'j1',
      createdAt: '2026-01-01T00:00:00Z',
      blockSize: 1024,
      shardSize: 2048,
      objects: [holdout],
      merkleRoot: 'b'.repeat(64),
    };
    const refused = fetcher.fetch(holdout, manifest, { bucket: 'b', prefix: 'jobs/j1' });
    await expect(refused).rejects.toThrow(JobObjectsError);
    await expect(refused).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(canRead).not.toHaveBeenCalled();
  });
});
