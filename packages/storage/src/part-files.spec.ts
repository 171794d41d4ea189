import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { BlockHasher, digestStream } from './block-hasher';
import { LocalDiskBackend } from './local-disk.backend';
import { adoptParts, joinFiles, openObjectWriter, releaseParts, type AdoptedPart } from './part-files';

const BLOCK = 1024;
const SHARD = 4 * BLOCK;

describe('part files', () => {
  let dir: string;
  let backend: LocalDiskBackend;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'part-files-'));
    backend = new LocalDiskBackend(path.join(dir, 'store'));
    await backend.createBucket('bkt');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const digest = async (bytes: Buffer) =>
    (await digestStream(Readable.from([bytes]), { blockSize: BLOCK })).digest;

  it('writes blocks through a sink while hashing them, and the digest is that of the bytes', async () => {
    const bytes = randomBytes(5 * BLOCK + 300);
    const out = Buffer.alloc(bytes.length);
    const hasher = new BlockHasher({
      blockSize: BLOCK,
      sink: (chunk, position) => {
        out.set(chunk, position);
        return Promise.resolve();
      },
    });
    await hasher.update(bytes.subarray(0, 1500));
    await hasher.sync();
    // sync() puts the short current block on disk too, and later bytes continue it.
    expect(out.subarray(0, 1500)).toEqual(bytes.subarray(0, 1500));
    await hasher.update(bytes.subarray(1500));
    expect((await hasher.digest()).digest).toBe(await digest(bytes));
    expect(out).toEqual(bytes);
  });

  it('adopts part files without copying, with the tree of their digests, and gives them back', async () => {
    const bytes = randomBytes(2 * SHARD + 100);
    const files = [0, 1, 2].map((i) => path.join(dir, `upload-${String(i)}`));
    const parts = [];
    for (const [i, file] of files.entries()) {
      const slice = bytes.subarray(i * SHARD, (i + 1) * SHARD);
      await writeFile(file, slice);
      parts.push({ path: file, size: slice.length, digest: await digest(slice) });
    }
    const inode = (await stat(files[0] ?? '')).ino;
    const adopted: AdoptedPart[] = [];
    const object = await adoptParts(
      backend,
      'bkt',
      'jobs/j',
      'data/x.bin',
      parts,
      { role: 'train', blockSize: BLOCK, shardSize: SHARD },
      adopted,
    );
    expect(object.digest).toBe(await digest(bytes));
    expect(object.parts.map((p) => p.key)).toEqual(
      [0, 1, 2].map((i) => `jobs/j/data/x.bin.part-0000${String(i)}`),
    );
    const stored = path.join(dir, 'store', 'bkt', 'objects', 'jobs/j/data/x.bin.part-00000');
    expect((await stat(stored)).ino).toBe(inode);
    await expect(stat(files[0] ?? '')).rejects.toThrow(/ENOENT/);

    await releaseParts(backend, 'bkt', adopted);
    const back: Buffer[] = [];
    for await (const chunk of joinFiles(files)) back.push(chunk);
    expect(Buffer.concat(back)).toEqual(bytes);
    expect(await backend.headObject('bkt', 'jobs/j/data/x.bin.part-00000')).toBeUndefined();
  });

  it('refuses parts that are not whole shards, before taking any', async () => {
    const file = path.join(dir, 'short');
    await writeFile(file, randomBytes(100));
    const parts = [
      { path: file, size: 100, digest: 'a'.repeat(64) },
      { path: file, size: 100, digest: 'a'.repeat(64) },
    ];
    const adopted: AdoptedPart[] = [];
    await expect(
      adoptParts(
        backend,
        'bkt',
        'p',
        'o',
        parts,
        { role: 'train', blockSize: BLOCK, shardSize: SHARD },
        adopted,
      ),
    ).rejects.toThrow(/not a whole shard/);
    expect(adopted).toEqual([]);
    expect(await readFile(file)).toHaveLength(100);
  });

  it('streams objects of unknown size: plain name when one part, numbered parts when more', async () => {
    for (const [size, keys] of [
      [SHARD - 10, ['p/small.csv']],
      [SHARD + 10, ['p/big.csv.part-00000', 'p/big.csv.part-00001']],
    ] as const) {
      const name = size < SHARD ? 'small.csv' : 'big.csv';
      const bytes = randomBytes(size);
      const writer = openObjectWriter(backend, 'bkt', 'p', name, {
        role: 'train',
        blockSize: BLOCK,
        shardSize: SHARD,
      });
      writer.stream.end(bytes);
      const object = await writer.done;
      expect(object.parts.map((p) => p.key)).toEqual(keys);
      expect(object.digest).toBe(await digest(bytes));
      const stored = Buffer.concat(
        await Promise.all(keys.map((key) => readFile(path.join(dir, 'store', 'bkt', 'objects', key)))),
      );
      expect(stored).toEqual(bytes);
    }
    expect(await backend.headObject('bkt', 'p/small.csv.part-00000')).toBeUndefined();
  });

  it('leaves nothing behind when the stream fails part-way, even with parts already committed', async () => {
    const writer = openObjectWriter(backend, 'bkt', 'p', 'cut.idx', {
      role: 'train',
      blockSize: BLOCK,
      shardSize: SHARD,
      size: 3 * SHARD,
    });
    writer.stream.write(randomBytes(SHARD + 2 * BLOCK));
    await new Promise((resolve) => setTimeout(resolve, 50));
    writer.stream.destroy(new Error('source failed'));
    await expect(writer.done).rejects.toThrow('source failed');
    const left = [];
    for await (const info of backend.listObjects('bkt', 'p/')) left.push(info.key);
    expect(left).toEqual([]);
    const tmp = await readdir(path.join(dir, 'store', 'bkt', 'tmp'));
    expect(tmp).toEqual([]);
  });
});
