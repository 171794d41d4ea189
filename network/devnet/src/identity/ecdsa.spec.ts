import { generateKeyPairSync, verify } from 'node:crypto';
import { isLowS, parseDerSignature, signLowS } from './ecdsa';

const HALF_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551') >> 1n;

describe('low-S ECDSA signatures', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('always produces verifiable signatures with s in the lower half of the group order', () => {
    for (let i = 0; i < 64; i += 1) {
      const message = Buffer.from(`message ${String(i)}`);
      const signature = signLowS(privateKey, message);
      expect(parseDerSignature(signature).s <= HALF_N).toBe(true);
      expect(isLowS(signature)).toBe(true);
      expect(verify('sha256', message, publicKey, signature)).toBe(true);
    }
  });

  it('recognises a high-S signature, which Fabric rejects', () => {
    const highS = Buffer.from(
      '3046022100a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550',
      'hex',
    );
    expect(isLowS(highS)).toBe(false);
  });

  it('accepts s exactly n/2 and short s values, and rejects n/2 + 1', () => {
    const der = (s: bigint) => {
      let hex = s.toString(16);
      if (hex.length % 2) hex = '0' + hex;
      let bytes = Buffer.from(hex, 'hex');
      if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
      const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x01, 0x02, bytes.length]), bytes]);
      return Buffer.concat([Buffer.from([0x30, body.length]), body]);
    };
    expect(isLowS(der(HALF_N))).toBe(true);
    expect(isLowS(der(HALF_N + 1n))).toBe(false);
    expect(isLowS(der(5n))).toBe(true);
  });

  it('refuses bytes that are not a DER signature', () => {
    expect(() => parseDerSignature(Buffer.from('not a signature'))).toThrow(/DER/);
  });
});
