import { sign, type KeyObject } from 'node:crypto';

import type { Signer } from '@hyperledger/fabric-gateway';

/**
 * An ECDSA signer on node:crypto (OpenSSL) for P-256 keys. fabric-gateway's own signer is pure
 * JavaScript and was measured as the largest CPU cost per transaction in the client; this one hashes
 * and signs natively. Use it with `hash: hash.none`: it receives the whole message and hashes it itself.
 *
 * Fabric refuses high-S signatures (they are malleable), and OpenSSL does not normalize them, so S is
 * folded into the lower half of the curve order before the DER signature is returned.
 */
export function newNativeP256Signer(key: KeyObject): Signer {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
    throw new TypeError('newNativeP256Signer needs an EC private key on the P-256 curve');
  }
  return (message: Uint8Array) => {
    const der = sign('sha256', message, { key, dsaEncoding: 'der' });
    return Promise.resolve(toLowS(der));
  };
}

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_ORDER = P256_ORDER >> 1n;

/** Returns the DER signature with S replaced by n - S when S is in the upper half of the order. */
export function toLowS(der: Uint8Array): Uint8Array {
  const { r, s } = parseDerSignature(der);
  if (s <= HALF_ORDER) return der;
  return encodeDerSignature(r, P256_ORDER - s);
}

export function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } {
  // SEQUENCE { INTEGER r, INTEGER s }; P-256 signatures are short enough for one-byte lengths.
  if (der[0] !== 0x30 || der[1] !== der.length - 2) throw new Error('not a DER ECDSA signature');
  let offset = 2;
  const readInteger = (): bigint => {
    if (der[offset] !== 0x02) throw new Error('not a DER ECDSA signature');
    const length = der[offset + 1] ?? 0;
    const bytes = der.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    return BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  };
  const r = readInteger();
  const s = readInteger();
  return { r, s };
}

function encodeInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  // A set high bit would read as negative: DER integers then take a leading zero byte.
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

export function encodeDerSignature(r: bigint, s: bigint): Uint8Array {
  const body = Buffer.concat([encodeInteger(r), encodeInteger(s)]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}
