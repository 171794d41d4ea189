import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { Upload } from '@tus/server';
import { digestStream, joinFiles } from '@decenter/storage';

import { loadConfig } from '../config/config.schema';
import { RedisRepository } from './redis.repository';
import { UploadRepository } from './upload.repository';

const BLOCK = 1024;

describe('UploadRepository hashing', () => {
  let dir: string;
  let uploads: UploadRepository;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gw-upload-'));
    const config = loadConfig(
      { GATEWAY_ORG: 'Org1', STORAGE_DIR: dir, BLOCK_SIZE: String(BLOCK), SHARD_SIZE: String(BLOCK * 4) },
      { repoRoot: dir },
    );
    // These tests touch only the file store, never Redis.
    uploads = new UploadRepository(config, Object.create(RedisRepository.prototype) as RedisRepository);
    await uploads.ensureDirectory();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function create(id: string, size: number): Promise<void> {
    await uploads.store.create(new Upload({ id, size, offset: 0 }));
  }

  const digestOfBytes = async (bytes: Buffer) =>
    (await digestStream(Readable.from([bytes]), { blockSize: BLOCK })).digest;

  /** Every byte of an upload, joined from its part files. */
  async function stored(id: string, size: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of joinFiles(uploads.partPaths(id, size))) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  it('hashes the bytes while they are written, without reading the file again', async () => {
    const bytes = randomBytes(5 * BLOCK + 17);
    await create('a', bytes.length);
    await uploads.store.write(Readable.from([bytes.subarray(0, 3000)]), 'a', 0);
    await uploads.store.write(Readable.from([bytes.subarray(3000)]), 'a', 3000);
    expect(Buffer.compare(await stored('a', bytes.length), bytes)).toBe(0);
    // Stored as parts of SHARD_SIZE (4 blocks) bytes, ready to become storage's parts.
    expect((await readFile(uploads.filePath('a'))).length).toBe(4 * BLOCK);
    expect(await readFile(uploads.partPaths('a', bytes.length)[1] ?? '')).toEqual(bytes.subarray(4 * BLOCK));
    expect((await uploads.store.getUpload('a')).offset).toBe(bytes.length);
    // Change the file behind the store's back: a digest taken from disk would see it; the stream hash does not.
    const handle = await open(uploads.filePath('a'), 'r+');
    await handle.write(Buffer.from([bytes[0]! ^ 0xff]), 0, 1, 0);
    await handle.close();
    const result = await uploads.digestOf('a', bytes.length);
    expect(result.digest).toBe(await digestOfBytes(bytes));
    expect(result.parts.map((part) => [part.size, part.digest])).toEqual([
      [4 * BLOCK, await digestOfBytes(bytes.subarray(0, 4 * BLOCK))],
      [BLOCK + 17, await digestOfBytes(bytes.subarray(4 * BLOCK))],
    ]);
  });

  it('still gives the digest of the bytes on disk when a write broke off part-way and resumed', async () => {
    const bytes = randomBytes(4 * BLOCK);
    await create('b', bytes.length);
    const broken = new Readable({ read() {} });
    broken.push(bytes.subarray(0, 1500));
    setTimeout(() => broken.destroy(new Error('connection reset')), 20);
    // The file store rejects with tus's own error object, not an Error.
    await expect(uploads.store.write(broken, 'b', 0)).rejects.toHaveProperty('status_code');
    const written = (await uploads.store.getUpload('b')).offset;
    // What arrived before the break is on disk, so the upload resumes from there.
    expect(written).toBe(1500);
    await uploads.store.write(Readable.from([bytes.subarray(written)]), 'b', written);
    expect(Buffer.compare(await stored('b', bytes.length), bytes)).toBe(0);
    expect((await uploads.digestOf('b', bytes.length)).digest).toBe(await digestOfBytes(bytes));
  });

  it('resumes without a running hash (another gateway took the upload) and digests the parts from disk', async () => {
    const bytes = randomBytes(9 * BLOCK + 5);
    await create('c', bytes.length);
    await uploads.store.write(Readable.from([bytes.subarray(0, 5000)]), 'c', 0);
    await uploads.store.dropHash('c');
    await uploads.store.write(Readable.from([bytes.subarray(5000)]), 'c', 5000);
    expect((await uploads.store.getUpload('c')).offset).toBe(bytes.length);
    expect(Buffer.compare(await stored('c', bytes.length), bytes)).toBe(0);
    const result = await uploads.digestOf('c', bytes.length);
    expect(result.digest).toBe(await digestOfBytes(bytes));
    expect(result.parts).toHaveLength(3);
    await uploads.store.remove('c');
    await expect(readFile(uploads.partPaths('c', bytes.length)[2] ?? '')).rejects.toThrow(/ENOENT/);
  });
});
