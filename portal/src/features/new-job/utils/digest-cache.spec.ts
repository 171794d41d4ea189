import { afterEach, describe, expect, it, vi } from 'vitest';

import { computeMerkleDigest } from '../../../lib/merkle-digest';
import { cachedMerkleDigest, digestCacheKey } from './digest-cache';

afterEach(() => {
  localStorage.clear();
});

describe('cachedMerkleDigest', () => {
  it('keeps one digest per block size, so a gateway with another block size never gets a stale one', async () => {
    const file = new File([new Uint8Array(5000).map((_, i) => (i * 31) % 256)], 'train.csv', {
      lastModified: 1_700_000_000_000,
    });

    const small = await cachedMerkleDigest(file, { blockSize: 1024 });
    const large = await cachedMerkleDigest(file, { blockSize: 4096 });

    expect(small).toBe(await computeMerkleDigest(file, { blockSize: 1024 }));
    expect(large).toBe(await computeMerkleDigest(file, { blockSize: 4096 }));
    expect(small).not.toBe(large);
    expect(localStorage.getItem(digestCacheKey(file, 1024))).toBe(small);
    expect(localStorage.getItem(digestCacheKey(file, 4096))).toBe(large);
  });

  it('answers a second request for the same file and block size from the cache', async () => {
    const file = new File([new Uint8Array(3000)], 'model.zip', { lastModified: 1_700_000_000_000 });
    const first = await cachedMerkleDigest(file, { blockSize: 1024 });
    const read = vi.spyOn(file, 'slice');
    const progress: number[] = [];

    expect(await cachedMerkleDigest(file, { blockSize: 1024, onProgress: (n) => progress.push(n) })).toBe(
      first,
    );
    expect(read).not.toHaveBeenCalled();
    expect(progress).toEqual([3000]);
  });
});
