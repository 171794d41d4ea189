/**
 * Errors of the chaincode. Fabric returns only the message text to the client, so every message
 * starts with its stable code (`ACCESS_DENIED: ...`) that clients can branch on, followed by what is
 * wrong and what to do about it.
 */
export type ChaincodeErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'ACCESS_DENIED'
  | 'INVALID_STATE'
  | 'QUORUM_NOT_REACHED'
  | 'SOULBOUND'
  | 'CORRUPT_STATE';

export class ChaincodeError extends Error {
  readonly code: ChaincodeErrorCode;

  constructor(code: ChaincodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'ChaincodeError';
    this.code = code;
  }
}

export class InvalidArgumentError extends ChaincodeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

export class NotFoundError extends ChaincodeError {
  constructor(message: string) {
    super('NOT_FOUND', message);
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends ChaincodeError {
  constructor(message: string) {
    super('ALREADY_EXISTS', message);
    this.name = 'AlreadyExistsError';
  }
}

export class AccessDeniedError extends ChaincodeError {
  constructor(message: string) {
    super('ACCESS_DENIED', message);
    this.name = 'AccessDeniedError';
  }
}

export class InvalidStateError extends ChaincodeError {
  constructor(message: string) {
    super('INVALID_STATE', message);
    this.name = 'InvalidStateError';
  }
}

export class QuorumNotReachedError extends ChaincodeError {
  constructor(message: string) {
    super('QUORUM_NOT_REACHED', message);
    this.name = 'QuorumNotReachedError';
  }
}

export class SoulboundError extends ChaincodeError {
  constructor(message: string) {
    super('SOULBOUND', message);
    this.name = 'SoulboundError';
  }
}

/** State that fails validation on read: written by another chaincode version or corrupted. */
export class CorruptStateError extends ChaincodeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CORRUPT_STATE', message, options);
    this.name = 'CorruptStateError';
  }
}
