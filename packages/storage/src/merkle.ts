import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

/** RFC 6962 leaf hash: SHA-256(0x00 || block). */
export function leafHash(block: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(block).digest();
}

/** RFC 6962 interior node: SHA-256(0x01 || left || right). */
export function combine(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The tree hash of no blocks at all (an empty object): SHA-256 of the empty string. */
export const EMPTY_ROOT = createHash('sha256').digest();

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * RFC 6962 tree hash over nodes that are already hashed: block leaf hashes, or the roots of complete
 * subtrees such as the parts of a sharded object (every part but the last holds 2^k blocks, so the split
 * points of the parts' tree coincide with those of the blocks' tree and both give the same root).
 */
export function merkleRoot(nodes: readonly Uint8Array[]): Buffer {
  if (nodes.length === 0) return Buffer.from(EMPTY_ROOT);
  const root = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return Buffer.from(nodes[lo] as Uint8Array);
    const k = largestPowerOfTwoBelow(hi - lo);
    return combine(root(lo, lo + k), root(lo + k, hi));
  };
  return root(0, nodes.length);
}

export function merkleRootHex(nodes: readonly Uint8Array[]): string {
  return merkleRoot(nodes).toString('hex');
}
