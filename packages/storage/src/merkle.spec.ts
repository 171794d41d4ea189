import { createHash } from 'node:crypto';

import { combine, EMPTY_ROOT, leafHash, merkleRoot } from './merkle';

const sha = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

describe('merkle', () => {
  it('hashes leaves and nodes with the RFC 6962 prefixes', () => {
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    const a = leafHash(Buffer.from('a'));
    const b = leafHash(Buffer.from('b'));
    expect(a).toEqual(sha(Buffer.from([0]), Buffer.from('a')));
    expect(combine(a, b)).toEqual(sha(Buffer.from([1]), a, b));
  });

  it('gives the empty string hash for no leaves and the leaf itself for one', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(merkleRoot([])).toEqual(EMPTY_ROOT);
    const leaf = leafHash(Buffer.from('x'));
    expect(merkleRoot([leaf])).toEqual(leaf);
  });

  it('splits at the largest power of two below the count', () => {
    const leaves = ['a', 'b', 'c', 'd', 'e'].map((s) => leafHash(Buffer.from(s)));
    const [a, b, c, d, e] = leaves as [Buffer, Buffer, Buffer, Buffer, Buffer];
    expect(merkleRoot(leaves)).toEqual(combine(combine(combine(a, b), combine(c, d)), e));
    expect(merkleRoot([a, b, c])).toEqual(combine(combine(a, b), c));
  });
});
