import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { BlockHasher, digestFile, digestStream } from './block-hasher';
import { HashPool } from './hash-pool';
import { leafHash, merkleRoot } from './merkle';

/** Reference: leaf hashes of each block computed on this thread, one by one. */
function reference(bytes: Uint8Array, blockSize: number): string {
  const leaves: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += blockSize)
    leaves.push(leafHash(bytes.subarray(at, at + blockSize)));
  return merkleRoot(leaves).toString('hex');
}

function* chunked(bytes: Uint8Array, cuts: number[]): Generator<Uint8Array> {
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut > at && cut < bytes.length) {
      yield bytes.subarray(at, cut);
      at = cut;
    }
  }
  yield bytes.subarray(at);
}

async function* toAsync(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) {
    await Promise.resolve();
    yield chunk;
  }
}

describe('BlockHasher', () => {
  const pool = new HashPool(2);
  afterAll(() => pool.close());

  it('matches the block-by-block reference for any bytes, chunking and block size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 12_000 }),
        fc.array(fc.nat({ max: 12_000 }), { maxLength: 8 }),
        fc.constantFrom(1024, 2048, 4096),
        async (bytes, cuts, blockSize) => {
          const result = await digestStream(toAsync(chunked(bytes, cuts)), {
            blockSize,
            pool,
            maxInFlight: 2,
          });
          expect(result.size).toBe(bytes.length);
          expect(result.leaves).toHaveLength(Math.ceil(bytes.length / blockSize));
          expect(result.digest).toBe(reference(bytes, blockSize));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('hashes a file in the worker pool and keeps the blocks in order', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hasher-'));
    try {
      const bytes = new Uint8Array(3 * 1024 * 1024 + 12_345);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
      const file = path.join(dir, 'data.bin');
      await writeFile(file, bytes);
      const result = await digestFile(file, { blockSize: 256 * 1024, pool });
      expect(result.leaves).toHaveLength(13);
      expect(result.digest).toBe(reference(bytes, 256 * 1024));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('hashes every full block in a worker, only a short last block inline', async () => {
    const own = new HashPool(2);
    try {
      const bytes = new Uint8Array(10 * 4096 + 100);
      const result = await digestStream(toAsync(chunked(bytes, [5000, 20_000])), {
        blockSize: 4096,
        pool: own,
      });
      expect(result.leaves).toHaveLength(11);
      expect(own.completed).toBe(10);
    } finally {
      await own.close();
    }
  });

  it('refuses bytes after digest() and bad block sizes', async () => {
    const hasher = new BlockHasher({ blockSize: 1024, pool });
    await hasher.digest();
    await expect(hasher.update(Buffer.from('late'))).rejects.toThrow(/after digest/);
    expect(() => new BlockHasher({ blockSize: 1000, pool })).toThrow(/blockSize/);
  });
});
