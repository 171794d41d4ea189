import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

import type { PasswordHash } from '../repositories/accounts.repository';

/** scrypt parameters (OWASP's minimum for scrypt: N=2^17, r=8, p=1); memory = 128 * N * r = 128 MiB. */
const DEFAULTS = { N: 2 ** 17, r: 8, p: 1, keyLength: 64 } as const;
const MAX_MEMORY = 256 * 1024 * 1024;

function derive(password: string, salt: Buffer, params: Omit<PasswordHash, 'algorithm' | 'salt' | 'hash'>) {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: MAX_MEMORY };
  // node's async scrypt runs on the libuv pool, off the event loop.
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, params.keyLength, options, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

export async function hashPassword(
  password: string,
  params: Partial<Pick<PasswordHash, 'N' | 'r' | 'p'>> = {},
): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const full = { ...DEFAULTS, ...params };
  const key = await derive(password, salt, full);
  return { algorithm: 'scrypt', ...full, salt: salt.toString('base64'), hash: key.toString('base64') };
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await derive(password, Buffer.from(stored.salt, 'base64'), stored);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A random password of `bytes` bytes of entropy, URL-safe so it pastes anywhere. */
export function generatePassword(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}
