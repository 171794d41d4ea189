import { DEFAULT_BLOCK_SIZE } from '@decenter/core';

/**
 * The block Merkle digest of a file, computed in the browser exactly as the gateway computes it while the
 * upload streams in (see `@decenter/core` manifest.ts): RFC 6962 tree hash with SHA-256 over fixed-size
 * blocks, leaf = H(0x00 || block), node = H(0x01 || left || right), split at the largest power of two below
 * the count; an empty file hashes to H(""), as RFC 6962 defines for the empty list. The gateway refuses an
 * upload whose declared digest differs, so a corrupted byte on the way is caught before a job is created.
 */

export interface DigestOptions {
  blockSize?: number;
  /** Called after each block with the bytes hashed so far. */
  onProgress?: (hashedBytes: number) => void;
  signal?: AbortSignal;
  /** WebCrypto implementation; the page's own by default. */
  subtle?: SubtleCrypto;
}

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

async function sha256(subtle: SubtleCrypto, parts: readonly Uint8Array[]): Promise<Uint8Array> {
  const length = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const buffer = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    buffer.set(part, offset);
    offset += part.byteLength;
  }
  return new Uint8Array(await subtle.digest('SHA-256', buffer));
}

export function leafHash(subtle: SubtleCrypto, block: Uint8Array): Promise<Uint8Array> {
  return sha256(subtle, [Uint8Array.of(LEAF_PREFIX), block]);
}

/** RFC 6962 Merkle tree hash over already-computed leaf hashes. */
export async function merkleRoot(subtle: SubtleCrypto, leaves: readonly Uint8Array[]): Promise<Uint8Array> {
  if (leaves.length === 0) return sha256(subtle, []);
  const [only] = leaves;
  if (leaves.length === 1 && only !== undefined) return only;
  let split = 1;
  while (split * 2 < leaves.length) split *= 2;
  const [left, right] = await Promise.all([
    merkleRoot(subtle, leaves.slice(0, split)),
    merkleRoot(subtle, leaves.slice(split)),
  ]);
  return sha256(subtle, [Uint8Array.of(NODE_PREFIX), left, right]);
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** `Blob.arrayBuffer` where the platform has it (every current browser), FileReader otherwise. */
function readBlock(blob: Blob): Promise<ArrayBuffer> {
  if (typeof blob.arrayBuffer === 'function') return blob.arrayBuffer();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      if (reader.result instanceof ArrayBuffer) resolve(reader.result);
      else reject(new TypeError('FileReader returned no ArrayBuffer'));
    };
    reader.onerror = () => {
      reject(reader.error ?? new Error('the file could not be read'));
    };
    reader.readAsArrayBuffer(blob);
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new DOMException('Digest computation was cancelled', 'AbortError');
}

/** Hex digest of `file`, reading one block at a time so a multi-gigabyte file never sits in memory. */
export async function computeMerkleDigest(file: Blob, options: DigestOptions = {}): Promise<string> {
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize <= 0)
    throw new RangeError('blockSize must be a positive integer');
  const subtle = options.subtle ?? globalThis.crypto.subtle;
  const leaves: Uint8Array[] = [];
  // Reading the next block while the current one is hashed keeps the disk and the hash busy together.
  let pending: Promise<ArrayBuffer> | undefined =
    file.size > 0 ? readBlock(file.slice(0, blockSize)) : undefined;
  for (let offset = 0; pending !== undefined; offset += blockSize) {
    throwIfAborted(options.signal);
    const block = new Uint8Array(await pending);
    const next = offset + blockSize;
    pending = next < file.size ? readBlock(file.slice(next, next + blockSize)) : undefined;
    leaves.push(await leafHash(subtle, block));
    options.onProgress?.(Math.min(next, file.size));
  }
  throwIfAborted(options.signal);
  return toHex(await merkleRoot(subtle, leaves));
}
