import { type DecenterErrorOptions, type ErrorCode } from '@decenter/core';
import { StorageError } from '@decenter/storage';

/** Base class of every failure talking to Greenfield: the chain, a storage provider or the local config. */
export class GreenfieldError extends StorageError {
  override readonly name: string = 'GreenfieldError';

  constructor(code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(code, message, options);
  }
}

/** GREENFIELD_* settings or the account mapping file are missing or malformed. */
export class GreenfieldConfigError extends GreenfieldError {
  override readonly name: string = 'GreenfieldConfigError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, {
      hint: 'Fix the GREENFIELD_* environment variables or the account mapping file and start again.',
      ...options,
    });
  }
}

/** The chain refused or failed a transaction (non-zero code), or a query failed. */
export class GreenfieldChainError extends GreenfieldError {
  override readonly name: string = 'GreenfieldChainError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('UNAVAILABLE', message, {
      hint: 'Check GREENFIELD_RPC_URL, the account balance and the chain status, then retry.',
      ...options,
    });
  }
}

/** A storage provider answered an upload or a download with an error. */
export class StorageProviderError extends GreenfieldError {
  override readonly name: string = 'StorageProviderError';
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, options: DecenterErrorOptions = {}) {
    super(status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', message, {
      hint: 'Check GREENFIELD_SP_ENDPOINT (or the bucket primary SP) is reachable, then retry.',
      ...options,
    });
    this.status = status;
  }
}

/** A principal in a read policy has no Greenfield account in the mapping file. */
export class UnmappedPrincipalError extends GreenfieldError {
  override readonly name: string = 'UnmappedPrincipalError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('FAILED_PRECONDITION', message, {
      hint: 'Add the identity with its 0x address to the Greenfield account mapping file.',
      ...options,
    });
  }
}
