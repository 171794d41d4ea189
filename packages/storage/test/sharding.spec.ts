import { dataManifestSchema, type ManifestObject } from '@decenter/core';
import fc from 'fast-check';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';

import {
  buildManifest,
  digestStream,
  HashPool,
  LocalDiskBackend,
  manifestDigest,
  openObject,
  storeObject,
  type ReadPolicy,
} from '../src';

const policy: ReadPolicy = { owner: { mspId: 'Org1MSP', id: 'x509::alice' }, readers: [] };
const layout = fc.record({ blockSize: fc.constantFrom(1024, 2048), blocksPerPart: fc.constantFrom(1, 2, 4) });

describe('storeObject / openObject', () => {
  const pool = new HashPool(2);
  let root: string;
  let backend: LocalDiskBackend;
  let run = 0;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'shards-'));
    backend = new LocalDiskBackend(root);
    await backend.createBucket('jobs');
  });
  afterAll(async () => {
    await pool.close();
    await rm(root, { recursive: true, force: true });
  });

  async function store(bytes: Uint8Array, blockSize: number, shardSize: number): Promise<ManifestObject> {
    run++;
    return storeObject(backend, 'jobs', `job-${run}`, 'data/train.bin', Readable.from([Buffer.from(bytes)]), {
      role: 'train',
      blockSize,
      shardSize,
      policy,
      size: bytes.length,
      pool,
    });
  }

  it('splits any bytes into parts and joins them back byte-identical', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 20_000 }),
        layout,
        async (bytes, { blockSize, blocksPerPart }) => {
          const shardSize = blockSize * blocksPerPart;
          const object = await store(bytes, blockSize, shardSize);
          expect(object.size).toBe(bytes.length);
          expect(object.parts).toHaveLength(Math.max(1, Math.ceil(bytes.length / shardSize)));
          if (object.parts.length === 1) expect(object.parts[0]!.key).toBe(`job-${run}/data/train.bin`);
          else expect(object.parts[1]!.key).toBe(`job-${run}/data/train.bin.part-00001`);
          const back = await buffer(openObject(backend, 'jobs', object, { blockSize, pool }));
          expect(Buffer.compare(back, Buffer.from(bytes))).toBe(0);
          // The tree over the parts equals the tree over all blocks of the whole object.
          const whole = await digestStream(Readable.from([Buffer.from(bytes)]), { blockSize, pool });
          expect(object.digest).toBe(whole.digest);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('serves any byte range, across part boundaries, equal to the slice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 12_000 }),
        layout,
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        async (bytes, { blockSize, blocksPerPart }, a, b, verify) => {
          const object = await store(bytes, blockSize, blockSize * blocksPerPart);
          const start = Math.min(a, b) % bytes.length;
          const end = start + (Math.max(a, b) % (bytes.length - start));
          const back = await buffer(
            openObject(backend, 'jobs', object, { range: { start, end }, verify, blockSize, pool }),
          );
          expect(Buffer.compare(back, Buffer.from(bytes.subarray(start, end + 1)))).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('detects any changed byte with an IntegrityError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 10_000 }),
        layout,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (bytes, { blockSize, blocksPerPart }, at, flip) => {
          const shardSize = blockSize * blocksPerPart;
          const object = await store(bytes, blockSize, shardSize);
          const index = at % bytes.length;
          const part = object.parts[Math.floor(index / shardSize)]!;
          const partBytes = Buffer.from(
            bytes.subarray(part.index * shardSize, part.index * shardSize + part.size),
          );
          partBytes[index - part.index * shardSize]! ^= flip;
          await backend.putObject('jobs', part.key, Readable.from([partBytes]));
          await expect(
            buffer(openObject(backend, 'jobs', object, { blockSize, pool })),
          ).rejects.toMatchObject({
            name: 'IntegrityError',
          });
          // A range read that touches the damaged part fails too.
          const range = { start: index, end: index };
          await expect(
            buffer(openObject(backend, 'jobs', object, { range, blockSize, pool })),
          ).rejects.toMatchObject({ name: 'IntegrityError' });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('refuses a manifest entry whose parts do not add up to its digest', async () => {
    const object = await store(Buffer.from('hello world'), 1024, 1024);
    const forged = { ...object, digest: '0'.repeat(64) };
    expect(() => openObject(backend, 'jobs', forged, { blockSize: 1024, pool })).toThrow(/inconsistent/);
  });

  it('stores a file path source and names a fitting object plainly', async () => {
    const file = path.join(root, 'source.bin');
    await writeFile(file, Buffer.alloc(5000, 7));
    const object = await storeObject(backend, 'jobs', 'fromfile', 'weights.bin', file, {
      role: 'model',
      blockSize: 1024,
      shardSize: 2048,
      pool,
    });
    expect(object.parts.map((p) => p.key)).toEqual([
      'fromfile/weights.bin.part-00000',
      'fromfile/weights.bin.part-00001',
      'fromfile/weights.bin.part-00002',
    ]);
    expect(object.parts.map((p) => p.size)).toEqual([2048, 2048, 904]);
  });

  it('stores any file through the backend copy path with the same parts and digests as a stream', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 9_000 }),
        layout,
        async (bytes, { blockSize, blocksPerPart }) => {
          const shardSize = blockSize * blocksPerPart;
          const file = path.join(root, `prop-${run}.bin`);
          await writeFile(file, bytes);
          const fromFile = await storeObject(backend, 'jobs', `file-${run}`, 'x.bin', file, {
            role: 'train',
            blockSize,
            shardSize,
            pool,
          });
          const fromStream = await store(bytes, blockSize, shardSize);
          expect(fromFile.digest).toBe(fromStream.digest);
          expect(fromFile.parts.map((p) => [p.size, p.digest])).toEqual(
            fromStream.parts.map((p) => [p.size, p.digest]),
          );
          const back = await buffer(openObject(backend, 'jobs', fromFile, { blockSize, pool }));
          expect(Buffer.compare(back, Buffer.from(bytes))).toBe(0);
          await rm(file);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('deletes every part copied from a file when a later part fails', async () => {
    class FailingBackend extends LocalDiskBackend {
      override async putFile(
        ...args: Parameters<LocalDiskBackend['putFile']>
      ): ReturnType<LocalDiskBackend['putFile']> {
        if (args[1].endsWith('.part-00002')) throw new Error('disk full');
        return super.putFile(...args);
      }
    }
    const failing = new FailingBackend(root);
    const file = path.join(root, 'five-k.bin');
    await writeFile(file, Buffer.alloc(5000, 3));
    await expect(
      storeObject(failing, 'jobs', 'copyfail', 'x.bin', file, {
        role: 'train',
        blockSize: 1024,
        shardSize: 2048,
        pool,
      }),
    ).rejects.toThrow('disk full');
    const left: string[] = [];
    for await (const info of backend.listObjects('jobs', 'copyfail/')) left.push(info.key);
    expect(left).toEqual([]);
  });

  it('deletes every part it wrote when the source fails midway', async () => {
    const source = Readable.from(
      (async function* () {
        yield Buffer.alloc(5000, 1);
        await Promise.resolve();
        throw new Error('upload aborted');
      })(),
    );
    await expect(
      storeObject(backend, 'jobs', 'failed', 'big.bin', source, {
        role: 'train',
        blockSize: 1024,
        shardSize: 1024,
        pool,
      }),
    ).rejects.toThrow('upload aborted');
    const left: string[] = [];
    for await (const info of backend.listObjects('jobs', 'failed/')) left.push(info.key);
    expect(left).toEqual([]);
    expect(await readdir(path.join(root, 'jobs', 'tmp'))).toEqual([]);
  });

  it('stores and opens an empty object', async () => {
    const object = await store(new Uint8Array(0), 1024, 2048);
    expect(object).toMatchObject({
      size: 0,
      digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
    expect(object.parts).toHaveLength(1);
    expect(await buffer(openObject(backend, 'jobs', object, { blockSize: 1024, pool }))).toHaveLength(0);
  });

  it('refuses a stream longer than its declared size and leaves nothing', async () => {
    await expect(
      storeObject(backend, 'jobs', 'long', 'x.bin', Readable.from([Buffer.alloc(3000), Buffer.alloc(3000)]), {
        role: 'train',
        blockSize: 1024,
        shardSize: 4096,
        size: 3000,
        pool,
      }),
    ).rejects.toThrow(/larger than the expected 3000 bytes/);
    const left: string[] = [];
    for await (const info of backend.listObjects('jobs', 'long/')) left.push(info.key);
    expect(left).toEqual([]);
  });

  it('refuses a stream shorter than its declared size and a bad shard layout', async () => {
    await expect(
      storeObject(backend, 'jobs', 'short', 'x.bin', Readable.from([Buffer.alloc(100)]), {
        role: 'train',
        blockSize: 1024,
        shardSize: 1024,
        size: 3000,
        pool,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(
      storeObject(backend, 'jobs', 'bad', 'x.bin', Readable.from([Buffer.alloc(1)]), {
        role: 'train',
        blockSize: 1024,
        shardSize: 3072,
      }),
    ).rejects.toThrow(/power of two/);
  });
});

describe('buildManifest', () => {
  it('builds a valid manifest with a stable digest and refuses duplicates', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'manifest-'));
    const pool = new HashPool(1);
    try {
      const backend = new LocalDiskBackend(root);
      await backend.createBucket('jobs');
      const objects = await Promise.all(
        ['train.csv', 'holdout.csv'].map((name, i) =>
          storeObject(backend, 'jobs', 'j1', name, Readable.from([Buffer.from(`rows ${i}`)]), {
            role: i === 0 ? 'train' : 'holdout',
            blockSize: 1024,
            shardSize: 4096,
            pool,
          }),
        ),
      );
      const input = {
        jobId: 'j1',
        objects,
        blockSize: 1024,
        shardSize: 4096,
        createdAt: '2026-11-22T05:00:00Z',
      };
      const manifest = buildManifest(input);
      expect(dataManifestSchema.safeParse(manifest).success).toBe(true);
      expect(manifestDigest(manifest)).toBe(manifestDigest(buildManifest(input)));
      expect(manifestDigest(manifest)).not.toBe(manifestDigest(buildManifest({ ...input, jobId: 'j2' })));
      expect(() => buildManifest({ ...input, objects: [objects[0]!, objects[0]!] })).toThrow(/duplicate/);
      expect(() => buildManifest({ ...input, shardSize: 3000 })).toThrow(/power of two/);
    } finally {
      await pool.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
