import { generateKeyPairSync, verify } from 'node:crypto';

import { hash, signers } from '@hyperledger/fabric-gateway';

import { encodeDerSignature, newNativeP256Signer, parseDerSignature, toLowS } from './native.signer';

const HALF_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n >> 1n;

describe('newNativeP256Signer', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = newNativeP256Signer(privateKey);

  it('produces valid low-S signatures over the whole message', async () => {
    for (let i = 0; i < 64; i++) {
      const message = Buffer.from(`transaction payload ${i}`);
      const signature = await signer(message);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
      expect(parseDerSignature(signature).s <= HALF_ORDER).toBe(true);
    }
  });

  it('verifies like fabric-gateway’s own signer over the SHA-256 digest', async () => {
    const message = Buffer.from('same bytes');
    const theirs = await signers.newPrivateKeySigner(privateKey)(hash.sha256(message));
    const ours = await signer(message);
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, theirs)).toBe(true);
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, ours)).toBe(true);
  });

  it('folds a high S into the lower half and keeps a low S as it is', () => {
    const low = encodeDerSignature(5n, 7n);
    expect(toLowS(low)).toBe(low);
    const high = encodeDerSignature(5n, HALF_ORDER + 10n);
    const folded = parseDerSignature(toLowS(high));
    expect(folded.r).toBe(5n);
    expect(folded.s).toBe(2n * HALF_ORDER + 1n - (HALF_ORDER + 10n));
  });

  it('refuses keys that are not P-256', () => {
    const { privateKey: p384 } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => newNativeP256Signer(p384)).toThrow('P-256');
  });
});
