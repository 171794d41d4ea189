import { InvalidKeyError } from './errors';

export const MAX_KEY_BYTES = 1024;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3-style bucket names: they become directory names, so nothing but [a-z0-9.-]. */
export function validateBucketName(name: string): string {
  if (!BUCKET.test(name) || name.includes('..')) {
    throw new InvalidKeyError(
      `Bucket name "${name.slice(0, 80)}" is invalid: use 3-63 lowercase letters, digits, dots or dashes`,
    );
  }
  return name;
}

/**
 * Object keys map to paths under the bucket, so anything that could leave it (absolute paths, `..`,
 * backslashes, NUL) or confuse a file system (control characters, empty segments) is refused.
 */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError('Object key must not be empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidKeyError(`Object key is longer than ${MAX_KEY_BYTES} bytes`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) {
    throw new InvalidKeyError('Object key must not contain NUL, control characters or backslashes');
  }
  if (key.startsWith('/')) throw new InvalidKeyError(`Object key "${key}" must be relative, not absolute`);
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidKeyError(`Object key "${key}" has an empty, "." or ".." segment`);
    }
    if (Buffer.byteLength(segment, 'utf8') > 255) {
      throw new InvalidKeyError(`Object key "${key.slice(0, 80)}..." has a segment longer than 255 bytes`);
    }
  }
  return key;
}

/** A prefix may be empty or end in `/`, but otherwise obeys the key rules. */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}
