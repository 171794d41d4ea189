import { computeMerkleDigest, type DigestOptions } from '../../../lib/merkle-digest';

/**
 * Digests of files already hashed in this browser, so resuming a large upload after a page reload does not
 * read the whole file again. Keyed like tus's fingerprint (name, size, last modification) and by the block
 * size the digest was computed over, since the same file has another digest under another block size; a
 * changed file gets a new key, and the gateway re-checks the digest at completion anyway.
 */
const PREFIX = 'decenter.digest.v2:';

export function digestCacheKey(file: File, blockSize: number): string {
  return `${PREFIX}${blockSize}:${file.name}:${file.size}:${file.lastModified}`;
}

function readCache(key: string): string | undefined {
  try {
    const value = localStorage.getItem(key);
    return value !== null && /^[0-9a-f]{64}$/.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(key: string, digest: string): void {
  try {
    localStorage.setItem(key, digest);
  } catch {
    // Storage full or disabled: the digest is simply recomputed next time.
  }
}

/** The block size is required: it must be the gateway's (GET /api/config), never a silent default. */
export type DigestFunction = (file: File, options: DigestOptions & { blockSize: number }) => Promise<string>;

export const cachedMerkleDigest: DigestFunction = async (file, options) => {
  const key = digestCacheKey(file, options.blockSize);
  const cached = readCache(key);
  if (cached !== undefined) {
    options.onProgress?.(file.size);
    return cached;
  }
  const digest = await computeMerkleDigest(file, options);
  writeCache(key, digest);
  return digest;
};
