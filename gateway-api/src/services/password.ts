import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

import type { PasswordHash } from '../repositories/accounts.repository';

type ScryptCost = Pick<PasswordHash, 'N' | 'r' | 'p'>;

/**
 * OWASP's Password Storage Cheat Sheet lists these scrypt settings (all with r=8) as equivalent in the
 * defence they give; any hash at or above one of them meets its recommendation.
 */
export const OWASP_SCRYPT_MINIMUMS: readonly { N: number; p: number }[] = [
  { N: 2 ** 17, p: 1 }, // 128 MiB
  { N: 2 ** 16, p: 2 }, // 64 MiB
  { N: 2 ** 15, p: 3 }, // 32 MiB
  { N: 2 ** 14, p: 5 }, // 16 MiB
  { N: 2 ** 13, p: 10 }, // 8 MiB
];

export function meetsOwaspMinimum(cost: ScryptCost): boolean {
  return cost.r >= 8 && OWASP_SCRYPT_MINIMUMS.some((min) => cost.N >= min.N && cost.p >= min.p);
}

/**
 * N=2^14, r=8, p=5: one of OWASP's equivalent settings. Measured on this project's 2-core machine it
 * takes about half the CPU time of N=2^17, p=1 (its 128 MiB working set misses every cache; 16 MiB
 * does much less), and a sign-in holds 16 MiB instead of 128 MiB, so a burst cannot exhaust memory.
 * Hashes stored with other parameters verify with their own and are re-hashed at the next sign-in.
 */
const DEFAULTS = { N: 2 ** 14, r: 8, p: 5, keyLength: 64 } as const;
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

/** True when `stored` was derived with today's default parameters (else it is re-hashed at the next sign-in). */
export function hasDefaultCost(stored: PasswordHash): boolean {
  return (
    stored.N === DEFAULTS.N &&
    stored.r === DEFAULTS.r &&
    stored.p === DEFAULTS.p &&
    stored.keyLength === DEFAULTS.keyLength
  );
}

export async function hashPassword(
  password: string,
  params: Partial<ScryptCost> = {},
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
