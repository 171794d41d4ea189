import { createHash, randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { computeMerkleDigest } from './merkle-digest';

// An independent, synchronous RFC 6962 implementation on node:crypto, written from the RFC's definition.
function sha(...parts: Buffer[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function expectedRoot(data: Buffer, blockSize: number): string {
  const leaves: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += blockSize) {
    leaves.push(sha(Buffer.from([0]), data.subarray(offset, offset + blockSize)));
  }
  const mth = (items: Buffer[]): Buffer => {
    if (items.length === 0) return sha();
    if (items.length === 1) return items[0]!;
    const k = 2 ** Math.floor(Math.log2(items.length - 1));
    return sha(Buffer.from([1]), mth(items.slice(0, k)), mth(items.slice(k)));
  };
  return mth(leaves).toString('hex');
}

function blobOf(data: Buffer): Blob {
  return new Blob([new Uint8Array(data)]);
}

describe('computeMerkleDigest', () => {
  it('hashes an empty file to SHA-256 of nothing', async () => {
    const digest = await computeMerkleDigest(blobOf(Buffer.alloc(0)), { blockSize: 16 });
    expect(digest).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('hashes a file smaller than one block as a single leaf', async () => {
    const data = Buffer.from('label,x\n1,2\n');
    const digest = await computeMerkleDigest(blobOf(data), { blockSize: 1024 });
    expect(digest).toBe(sha(Buffer.from([0]), data).toString('hex'));
  });

  it.each([2, 3, 4, 5, 7, 8, 9, 13])(
    'matches node:crypto for %i blocks, last one partial',
    async (blocks) => {
      const blockSize = 64;
      const data = randomBytes(blockSize * (blocks - 1) + 17);
      const digest = await computeMerkleDigest(blobOf(data), { blockSize });
      expect(digest).toBe(expectedRoot(data, blockSize));
    },
  );

  it('uses 4 MiB blocks by default and reports progress per block', async () => {
    const data = randomBytes(4 * 1024 * 1024 + 1000);
    const progress: number[] = [];
    const digest = await computeMerkleDigest(blobOf(data), { onProgress: (bytes) => progress.push(bytes) });
    expect(digest).toBe(expectedRoot(data, 4 * 1024 * 1024));
    expect(digest).not.toBe(sha(data).toString('hex'));
    expect(progress).toEqual([4 * 1024 * 1024, data.length]);
  });

  it('hashes over a non-default block size when a gateway announces one (1 MiB)', async () => {
    const blockSize = 1024 * 1024;
    const data = randomBytes(3 * blockSize + 4321);
    const progress: number[] = [];
    const digest = await computeMerkleDigest(blobOf(data), {
      blockSize,
      onProgress: (n) => progress.push(n),
    });
    expect(digest).toBe(expectedRoot(data, blockSize));
    // The 4 MiB default gives another root for the same bytes: the gateway would refuse it.
    expect(digest).not.toBe(expectedRoot(data, 4 * 1024 * 1024));
    expect(progress).toEqual([blockSize, 2 * blockSize, 3 * blockSize, data.length]);
  });

  it('changes when one byte changes', async () => {
    const data = randomBytes(300);
    const before = await computeMerkleDigest(blobOf(data), { blockSize: 64 });
    data[250] = (data[250]! + 1) % 256;
    expect(await computeMerkleDigest(blobOf(data), { blockSize: 64 })).not.toBe(before);
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      computeMerkleDigest(blobOf(randomBytes(256)), { blockSize: 64, signal: controller.signal }),
    ).rejects.toThrow(/cancelled/);
  });
});
