import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';

// Order of the P-256 group; Fabric only accepts ECDSA signatures whose s is in the lower half.
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const P256_HALF_N = P256_N >> 1n;

export function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function readDerInteger(der: Uint8Array, offset: number): { value: bigint; next: number } {
  if (der[offset] !== 0x02) throw new Error('DER signature: expected INTEGER');
  const length = der[offset + 1] ?? 0;
  const bytes = der.subarray(offset + 2, offset + 2 + length);
  return { value: BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0')), next: offset + 2 + length };
}

function encodeDerInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes = Buffer.from(hex, 'hex');
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** Splits a DER ECDSA signature into r and s; throws on anything that is not one. */
export function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } {
  if (der.length < 8 || der[0] !== 0x30) throw new Error('DER signature: expected SEQUENCE');
  const r = readDerInteger(der, 2);
  const s = readDerInteger(der, r.next);
  return { r: r.value, s: s.value };
}

const P256_HALF_N_BYTES = Buffer.from(P256_HALF_N.toString(16).padStart(64, '0'), 'hex');

/** Whether s <= n/2, compared on the bytes: this runs for every signature the devnet checks. */
export function isLowS(der: Uint8Array): boolean {
  if (der.length < 8 || der[0] !== 0x30 || der[2] !== 0x02)
    throw new Error('DER signature: expected SEQUENCE');
  const sOffset = 4 + (der[3] ?? 0);
  if (der[sOffset] !== 0x02) throw new Error('DER signature: expected INTEGER');
  let s = der.subarray(sOffset + 2, sOffset + 2 + (der[sOffset + 1] ?? 0));
  while (s.length > 0 && s[0] === 0) s = s.subarray(1);
  if (s.length !== P256_HALF_N_BYTES.length) return s.length < P256_HALF_N_BYTES.length;
  return Buffer.compare(s, P256_HALF_N_BYTES) <= 0;
}

/** Signs SHA-256(message) with a P-256 key and returns the low-S DER signature Fabric expects. */
export function signLowS(key: KeyObject, message: Uint8Array): Buffer {
  const der = sign('sha256', message, key);
  const { r, s } = parseDerSignature(der);
  if (s <= P256_HALF_N) return der;
  const body = Buffer.concat([encodeDerInteger(r), encodeDerInteger(P256_N - s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

export function loadPrivateKey(pem: string): KeyObject {
  return createPrivateKey(pem);
}
