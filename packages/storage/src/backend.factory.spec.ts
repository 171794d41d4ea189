import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createStorageBackend, StorageBackendConfigError } from './backend.factory';
import { LocalDiskBackend } from './local-disk.backend';

describe('createStorageBackend', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'backend-factory-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is local disk under the given root when STORAGE_BACKEND is unset or local', async () => {
    for (const env of [{}, { STORAGE_BACKEND: 'local' }]) {
      const selected = await createStorageBackend(env, dir);
      expect(selected.kind).toBe('local');
      expect(selected.backend).toBeInstanceOf(LocalDiskBackend);
      await selected.backend.createBucket('jobs');
      expect(await selected.backend.bucketExists('jobs')).toBe(true);
      await selected.close();
    }
  });

  it('refuses an unknown backend, naming the ones there are', async () => {
    await expect(createStorageBackend({ STORAGE_BACKEND: 's3' }, dir)).rejects.toThrow(
      new StorageBackendConfigError('STORAGE_BACKEND must be one of local, greenfield, not "s3"', {}),
    );
  });

  it('loads the Greenfield package only when selected, and passes its configuration errors on', async () => {
    // The package is a workspace here; without GREENFIELD_* variables its own validation names them all.
    await expect(createStorageBackend({ STORAGE_BACKEND: 'greenfield' }, dir)).rejects.toThrow(
      /GREENFIELD_RPC_URL/,
    );
  });
});
