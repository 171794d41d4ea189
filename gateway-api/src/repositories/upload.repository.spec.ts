import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { Upload } from '@tus/server';
import { digestStream } from '@decenter/storage';

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

  it('hashes the bytes while they are written, without reading the file again', async () => {
    const bytes = randomBytes(5 * BLOCK + 17);
    await create('a', bytes.length);
    await uploads.store.write(Readable.from([bytes.subarray(0, 3000)]), 'a', 0);
    await uploads.store.write(Readable.from([bytes.subarray(3000)]), 'a', 3000);
    expect(Buffer.compare(await readFile(uploads.filePath('a')), bytes)).toBe(0);
    // Change the file behind the store's back: a digest taken from disk would see it; the stream hash does not.
    const handle = await open(uploads.filePath('a'), 'r+');
    await handle.write(Buffer.from([bytes[0]! ^ 0xff]), 0, 1, 0);
    await handle.close();
    expect(await uploads.digestOf('a', bytes.length)).toBe(await digestOfBytes(bytes));
  });

  it('still gives the digest of the bytes on disk when a write broke off part-way and resumed', async () => {
    const bytes = randomBytes(4 * BLOCK);
    await create('b', bytes.length);
    const broken = new Readable({ read() {} });
    broken.push(bytes.subarray(0, 1500));
    setTimeout(() => broken.destroy(new Error('connection reset')), 20);
    // The file store rejects with tus's own error object, not an Error.
    await expect(uploads.store.write(broken, 'b', 0)).rejects.toHaveProperty('status_code');
    const written = (await readFile(uploads.filePath('b'))).length;
    await uploads.store.write(Readable.from([bytes.subarray(written)]), 'b', written);
    expect(Buffer.compare(await readFile(uploads.filePath('b')), bytes)).toBe(0);
    expect(await uploads.digestOf('b', bytes.length)).toBe(await digestOfBytes(bytes));
  });
});
