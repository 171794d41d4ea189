import { DecenterError, type DecenterErrorOptions, type ErrorCode } from '@decenter/core';

/** Base class of every storage failure; `code` maps to an HTTP status in the gateway. */
export class StorageError extends DecenterError {
  override readonly name: string = 'StorageError';

  constructor(code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A bucket name, object key or byte range that the backend refuses before touching the disk. */
export class InvalidKeyError extends StorageError {
  override readonly name: string = 'InvalidKeyError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, {
      hint: 'Use a relative key of printable characters without empty, "." or ".." segments.',
      ...options,
    });
  }
}

export class ObjectNotFoundError extends StorageError {
  override readonly name: string = 'ObjectNotFoundError';

  constructor(bucket: string, key: string, options: DecenterErrorOptions = {}) {
    super('NOT_FOUND', `Object "${key}" does not exist in bucket "${bucket}"`, {
      hint: 'Check the key, or upload the object first.',
      ...options,
    });
  }
}

export class BucketNotFoundError extends StorageError {
  override readonly name: string = 'BucketNotFoundError';

  constructor(bucket: string, options: DecenterErrorOptions = {}) {
    super('NOT_FOUND', `Bucket "${bucket}" does not exist`, {
      hint: 'Create the bucket first (createBucket).',
      ...options,
    });
  }
}

/** A requested byte range lies outside the object. */
export class ByteRangeError extends StorageError {
  override readonly name: string = 'ByteRangeError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, { hint: 'Ask for a range inside the object.', ...options });
  }
}

/** The bytes that arrived differ from the size the caller declared. */
export class SizeMismatchError extends StorageError {
  override readonly name: string = 'SizeMismatchError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INVALID_DATA', message, { hint: 'Upload the complete file again.', ...options });
  }
}

/** Stored bytes no longer match their recorded digest or size: the object was altered or damaged. */
export class IntegrityError extends StorageError {
  override readonly name: string = 'IntegrityError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INTEGRITY', message, {
      hint: 'The stored copy is damaged or was altered; restore it from another replica or upload it again.',
      ...options,
    });
  }
}
