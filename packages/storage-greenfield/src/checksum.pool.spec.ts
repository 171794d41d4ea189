import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { ReedSolomon } from '@bnb-chain/reed-solomon';

import { ChecksumPool, DEFAULT_REDUNDANCY } from './checksum.pool';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const sha = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** Feeds the pool in odd-sized chunks so segment boundaries fall inside chunks. */
function chunked(data: Buffer, chunk: number): Readable {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunk) parts.push(data.subarray(at, at + chunk));
  return Readable.from(parts);
}

describe('ChecksumPool', () => {
  const segmentSize = 64 * 1024;
  const params = { ...DEFAULT_REDUNDANCY, segmentSize };
  let pool: ChecksumPool;

  beforeAll(() => {
    pool = new ChecksumPool(params, 2);
  });
  afterAll(async () => {
    await pool.close();
  });

  it.each([1, 1000, segmentSize, segmentSize + 1, 3 * segmentSize + 12345])(
    'matches the SDK reed-solomon encode() for %i bytes',
    async (length) => {
      const data = randomBytes(length);
      const { checksums, size } = await pool.checksums(chunked(data, 7001));
      expect(size).toBe(length);
      const expected = new ReedSolomon(4, 2, segmentSize).encode(new Uint8Array(data));
      expect(checksums.map(b64)).toEqual(expected);
      // Independent of the SDK: the integrity hash is SHA-256 over the segments' SHA-256 digests.
      const segmentHashes: Buffer[] = [];
      for (let at = 0; at < length; at += segmentSize)
        segmentHashes.push(sha(data.subarray(at, at + segmentSize)));
      expect(b64(checksums[0]!)).toBe(b64(sha(Buffer.concat(segmentHashes))));
    },
  );

  it('gives seven hashes of nothing for an empty object', async () => {
    const { checksums, size } = await pool.checksums(Readable.from([]));
    expect(size).toBe(0);
    expect(checksums.map(b64)).toEqual(Array<string>(7).fill(b64(sha(Buffer.alloc(0)))));
  });

  it('changes a piece checksum when one byte changes', async () => {
    const data = randomBytes(2 * segmentSize);
    const before = await pool.checksums(chunked(data, 4096));
    data[segmentSize + 10] = (data[segmentSize + 10]! + 1) % 256;
    const after = await pool.checksums(chunked(data, 4096));
    expect(b64(after.checksums[0]!)).not.toBe(b64(before.checksums[0]!));
  });

  it('refuses work once closed', async () => {
    const closed = new ChecksumPool(params, 1);
    await closed.close();
    await expect(closed.checksums(Readable.from([Buffer.alloc(10)]))).rejects.toThrow('closed');
  });
});
