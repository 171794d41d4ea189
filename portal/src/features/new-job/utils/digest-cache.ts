import { computeMerkleDigest, type DigestOptions } from '../../../lib/merkle-digest';

/**
 * Digests of files already hashed in this browser, so resuming a large upload after a page reload does not
 * read the whole file again. Keyed like tus's fingerprint (name, size, last modification); a changed file
 * gets a new key, and the gateway re-checks the digest at completion anyway.
 */
const PREFIX = 'decenter.digest.v1:';

function keyOf(file: File): string {
  return `${PREFIX}${file.name}:${file.size}:${file.lastModified}`;
}

function readCache(file: File): string | undefined {
  try {
    const value = localStorage.getItem(keyOf(file));
    return value !== null && /^[0-9a-f]{64}$/.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(file: File, digest: string): void {
  try {
    localStorage.setItem(keyOf(file), digest);
  } catch {
    // Storage full or disabled: the digest is simply recomputed next time.
  }
}

export type DigestFunction = (file: File, options: DigestOptions) => Promise<string>;

export const cachedMerkleDigest: DigestFunction = async (file, options) => {
  const cached = readCache(file);
  if (cached !== undefined) {
    options.onProgress?.(file.size);
    return cached;
  }
  const digest = await computeMerkleDigest(file, options);
  writeCache(file, digest);
  return digest;
};
