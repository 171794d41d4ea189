import { keccak256 } from 'ethereum-cryptography/keccak';
import { secp256k1 } from 'ethereum-cryptography/secp256k1';

import type { SecretKey } from './greenfield.config';

/** The Ethereum-style account (lower-case 0x address) that signs with this key, as Greenfield derives it. */
export function addressOfKey(key: SecretKey): string {
  const publicKey = secp256k1.getPublicKey(Buffer.from(key.reveal().slice(2), 'hex'), false);
  return `0x${Buffer.from(keccak256(publicKey.slice(1)).slice(-20)).toString('hex')}`;
}

/** SHA-256 of an empty body: Greenfield SPs take the body's integrity from the chain, not this header. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The headers a storage provider includes in the canonical request when present (lower case). */
export const SIGNED_HEADERS = [
  'x-gnfd-content-sha256',
  'x-gnfd-txn-hash',
  'x-gnfd-object-id',
  'x-gnfd-redundancy-index',
  'x-gnfd-resource',
  'x-gnfd-date',
  'x-gnfd-expiry-timestamp',
  'range',
  'x-gnfd-piece-index',
  'content-type',
  'content-md5',
  'x-gnfd-unsigned-msg',
  'x-gnfd-user-address',
] as const;

export interface CanonicalRequest {
  method: string;
  /** Encoded path, e.g. `/jobs/j1/data.csv`. */
  path: string;
  /** Encoded query with keys sorted, without `?`. */
  query: string;
  /** Virtual host of the bucket, without port: `<bucket>.<sp host>`. */
  hostname: string;
  /** Lower-case header names; only those in SIGNED_HEADERS are signed. */
  headers: Record<string, string>;
}

/**
 * The canonical request of Greenfield's GNFD1-ECDSA scheme: method, path, query, the signed headers as
 * sorted `name:value` lines followed by the host, then the signed header names joined by `;`.
 */
export function canonicalRequest(req: CanonicalRequest): string {
  const names = Object.keys(req.headers)
    .filter((name) => (SIGNED_HEADERS as readonly string[]).includes(name))
    .sort();
  const lines = names.map((name) => `${name}:${req.headers[name] ?? ''}`);
  lines.push(req.hostname, '');
  return [req.method, req.path, req.query, lines.join('\n'), names.join(';')].join('\n');
}

/** `YYYY-MM-DDTHH:mm:ssZ`, the timestamp format of x-gnfd-date and x-gnfd-expiry-timestamp. */
export function gnfdTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * Signs an SP request: keccak256 of the canonical request, secp256k1 with RFC 6979 nonces and low S,
 * encoded r || s || recovery (0 or 1). The SDK's own signer (ethers) yields the same bytes; a test checks
 * that. It is done here rather than through the SDK because the SDK cannot sign a Range header, which a
 * storage provider includes in the canonical request when it is present.
 */
export function signSpRequest(req: CanonicalRequest, key: SecretKey): string {
  const digest = keccak256(Buffer.from(canonicalRequest(req), 'utf8'));
  const signature = secp256k1.sign(digest, Buffer.from(key.reveal().slice(2), 'hex'));
  const bytes = Buffer.concat([
    Buffer.from(signature.toCompactRawBytes()),
    Buffer.from([signature.recovery]),
  ]);
  return `GNFD1-ECDSA, Signature=${bytes.toString('hex')}`;
}

/** The lower-case 0x address that signed a GNFD1-ECDSA request, or undefined if the signature is malformed. */
export function recoverSpRequestSigner(req: CanonicalRequest, authorization: string): string | undefined {
  const hex = /^GNFD1-ECDSA, Signature=([0-9a-f]{130})$/.exec(authorization)?.[1];
  if (hex === undefined) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  const recovery = bytes[64];
  if (recovery !== 0 && recovery !== 1) return undefined;
  try {
    const digest = keccak256(Buffer.from(canonicalRequest(req), 'utf8'));
    const publicKey = secp256k1.Signature.fromCompact(bytes.subarray(0, 64))
      .addRecoveryBit(recovery)
      .recoverPublicKey(digest)
      .toRawBytes(false);
    return `0x${Buffer.from(keccak256(publicKey.slice(1)).slice(-20)).toString('hex')}`;
  } catch {
    return undefined;
  }
}
