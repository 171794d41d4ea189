import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';

import { LocalDiskBackend } from './local-disk.backend';
import type { Principal, ReadPolicy } from './policy';

function failingSource(good: string): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(good);
      await Promise.resolve();
      throw new Error('connection reset');
    })(),
  );
}

describe('LocalDiskBackend', () => {
  let root: string;
  let backend: LocalDiskBackend;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'store-'));
    backend = new LocalDiskBackend(root);
    await backend.createBucket('jobs');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('writes, reads, ranges, lists and deletes objects', async () => {
    expect(await backend.bucketExists('jobs')).toBe(true);
    expect(await backend.bucketExists('other')).toBe(false);
    const info = await backend.putObject(
      'jobs',
      'j1/data/train.csv',
      Readable.from([Buffer.from('a,b\n1,2\n')]),
      {
        contentType: 'text/csv',
      },
    );
    expect(info).toMatchObject({
      bucket: 'jobs',
      key: 'j1/data/train.csv',
      size: 8,
      contentType: 'text/csv',
    });
    expect(await text(await backend.getObject('jobs', 'j1/data/train.csv'))).toBe('a,b\n1,2\n');
    expect(await text(await backend.getObject('jobs', 'j1/data/train.csv', { start: 4, end: 6 }))).toBe(
      '1,2',
    );
    expect(await text(await backend.getObject('jobs', 'j1/data/train.csv', { start: 6 }))).toBe('2\n');
    await expect(backend.getObject('jobs', 'j1/data/train.csv', { start: 8 })).rejects.toThrow(/outside/);
    await expect(backend.getObject('jobs', 'j1/none')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await backend.putObject('jobs', 'j1/data/test.csv', Readable.from([Buffer.from('x')]));
    await backend.putObject('jobs', 'j2/spec.json', Readable.from([Buffer.from('{}')]));
    const keys = async (prefix: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const item of backend.listObjects('jobs', prefix)) out.push(item.key);
      return out;
    };
    expect(await keys('j1/')).toEqual(['j1/data/test.csv', 'j1/data/train.csv']);
    expect(await keys('j1/data/tr')).toEqual(['j1/data/train.csv']);
    expect(await keys('')).toHaveLength(3);
    // A key that is a folder of other keys is not an object: deleting it changes nothing.
    await backend.deleteObject('jobs', 'j1/data');
    expect(await keys('j1/')).toHaveLength(2);
    expect(await backend.deletePrefix('jobs', 'j1/')).toBe(2);
    expect(await keys('')).toEqual(['j2/spec.json']);
    expect(await backend.headObject('jobs', 'j1/data/train.csv')).toBeUndefined();
  });

  it('stores files readable by the service account only', async () => {
    await backend.putObject('jobs', 'secret.bin', Readable.from([Buffer.from('s')]));
    const mode = (await stat(path.join(root, 'jobs', 'objects', 'secret.bin'))).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('refuses keys that could leave the bucket', async () => {
    for (const key of [
      '../escape',
      'a/../../b',
      '/etc/passwd',
      'a\u0000b',
      'a//b',
      './a',
      'a\\b',
      'x'.repeat(1025),
    ]) {
      await expect(backend.putObject('jobs', key, Readable.from([Buffer.from('x')]))).rejects.toMatchObject({
        name: 'InvalidKeyError',
      });
    }
    await expect(backend.createBucket('../up')).rejects.toMatchObject({ name: 'InvalidKeyError' });
  });

  it('leaves nothing behind when a write fails or has the wrong size', async () => {
    await expect(backend.putObject('jobs', 'cut.bin', failingSource('partial'))).rejects.toThrow(
      /connection reset/,
    );
    await expect(
      backend.putObject('jobs', 'short.bin', Readable.from([Buffer.from('abc')]), { expectedSize: 4 }),
    ).rejects.toMatchObject({ name: 'SizeMismatchError' });
    await expect(
      backend.putObject('jobs', 'long.bin', Readable.from([Buffer.from('abcde')]), { expectedSize: 4 }),
    ).rejects.toMatchObject({ name: 'SizeMismatchError' });
    expect(await backend.headObject('jobs', 'cut.bin')).toBeUndefined();
    expect(await backend.headObject('jobs', 'short.bin')).toBeUndefined();
    expect(await readdir(path.join(root, 'jobs', 'tmp'))).toEqual([]);
    expect(await readdir(path.join(root, 'jobs', 'objects'))).toEqual([]);
  });

  it('copies a local file or a slice of it, all or nothing', async () => {
    const file = path.join(root, 'source.bin');
    await writeFile(file, '0123456789');
    expect((await backend.putFile('jobs', 'whole', file)).size).toBe(10);
    expect(await text(await backend.getObject('jobs', 'whole'))).toBe('0123456789');
    expect((await stat(path.join(root, 'jobs', 'objects', 'whole'))).mode & 0o777).toBe(0o600);
    await backend.putFile('jobs', 'slice', file, { start: 3, end: 7, contentType: 'text/plain' });
    expect(await text(await backend.getObject('jobs', 'slice'))).toBe('3456');
    await expect(backend.putFile('jobs', 'bad', file, { start: 5, end: 11 })).rejects.toThrow(/outside/);
    await expect(backend.putFile('jobs', 'bad', file, { expectedSize: 9 })).rejects.toMatchObject({
      name: 'SizeMismatchError',
    });
    await expect(backend.putFile('jobs', 'bad', path.join(root, 'missing.bin'))).rejects.toThrow(/ENOENT/);
    expect(await backend.headObject('jobs', 'bad')).toBeUndefined();
    expect(await readdir(path.join(root, 'jobs', 'tmp'))).toEqual([]);
  });

  it('keeps the old bytes when a replacement fails', async () => {
    await backend.putObject('jobs', 'model.json', Readable.from([Buffer.from('v1')]));
    await expect(backend.putObject('jobs', 'model.json', failingSource('v2-partial'))).rejects.toThrow();
    expect(await text(await backend.getObject('jobs', 'model.json'))).toBe('v1');
  });

  describe('read policies', () => {
    const owner: Principal = { mspId: 'Org1MSP', id: 'x509::alice', role: 'member' };
    const colleague: Principal = { mspId: 'Org1MSP', id: 'x509::bob', role: 'member' };
    const validator: Principal = { mspId: 'Org2MSP', id: 'x509::val', role: 'validator' };
    const executor: Principal = { mspId: 'Org2MSP', id: 'x509::exec', role: 'executor' };
    const stranger: Principal = { mspId: 'Org3MSP', id: 'x509::eve', role: 'admin' };
    const holdout: ReadPolicy = {
      owner: { mspId: 'Org1MSP', id: 'x509::alice' },
      readers: [{ kind: 'role', role: 'validator' }],
    };

    it('lets exactly the owner and the grants read', async () => {
      await backend.putObject('jobs', 'j/holdout.csv', Readable.from([Buffer.from('h')]), {
        policy: holdout,
      });
      expect(await backend.getPolicy('jobs', 'j/holdout.csv')).toEqual(holdout);
      const allowed = async (who: Principal): Promise<boolean> =>
        backend.canRead(who, 'jobs', 'j/holdout.csv');
      expect(await allowed(owner)).toBe(true);
      expect(await allowed(validator)).toBe(true);
      expect(await allowed(executor)).toBe(false);
      expect(await allowed(colleague)).toBe(false);
      expect(await allowed(stranger)).toBe(false);

      await backend.setPolicy('jobs', 'j/holdout.csv', {
        owner: holdout.owner,
        readers: [
          { kind: 'org', mspId: 'Org1MSP' },
          { kind: 'identity', mspId: 'Org2MSP', id: 'x509::exec' },
        ],
      });
      expect(await allowed(colleague)).toBe(true);
      expect(await allowed(executor)).toBe(true);
      expect(await allowed(validator)).toBe(false);
      expect(await backend.canRead(owner, 'jobs', 'j/missing')).toBe(false);
    });

    it('denies everyone when an object has no policy, and refuses malformed policies', async () => {
      await backend.putObject('jobs', 'open.bin', Readable.from([Buffer.from('o')]));
      expect(await backend.getPolicy('jobs', 'open.bin')).toBeUndefined();
      expect(await backend.canRead(owner, 'jobs', 'open.bin')).toBe(false);
      await expect(
        backend.setPolicy('jobs', 'open.bin', { owner: { mspId: '', id: 'x' }, readers: [] }),
      ).rejects.toThrow(/owner.mspId/);
      await expect(
        backend.setPolicy('jobs', 'open.bin', {
          owner: holdout.owner,
          readers: [{ kind: 'role', role: 'root' as 'admin' }],
        }),
      ).rejects.toThrow(/role/);
    });
  });
});
