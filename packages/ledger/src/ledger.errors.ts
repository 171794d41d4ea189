import { DecenterError, ValidationError, type DecenterErrorOptions, type ErrorCode } from '@decenter/core';

/**
 * Domain errors raised by the ledger clients. Each keeps the chaincode's own code (when the chaincode
 * produced it) and the transaction id, so callers can log them and users can look them up.
 */
export interface LedgerErrorOptions extends DecenterErrorOptions {
  /** The chaincode's stable error code (`ACCESS_DENIED`, `INVALID_STATE`...), when it came from the chaincode. */
  chaincodeCode?: string;
  transactionId?: string;
}

export class LedgerError extends DecenterError {
  override readonly name: string = 'LedgerError';
  readonly chaincodeCode: string | undefined;
  readonly transactionId: string | undefined;

  constructor(code: ErrorCode, message: string, options: LedgerErrorOptions = {}) {
    super(code, message, options);
    this.chaincodeCode = options.chaincodeCode;
    this.transactionId = options.transactionId;
  }
}

/** The record asked for does not exist on the ledger. */
export class NotFoundError extends LedgerError {
  override readonly name: string = 'NotFoundError';

  constructor(message: string, options: LedgerErrorOptions = {}) {
    super('NOT_FOUND', message, {
      hint: 'Check the id; `decenter job list` shows the jobs your identity can see.',
      ...options,
    });
  }
}

/** The signing identity may not do this (wrong org, wrong role, not the owner). */
export class AccessDeniedError extends LedgerError {
  override readonly name: string = 'AccessDeniedError';

  constructor(message: string, options: LedgerErrorOptions = {}) {
    super('ACCESS_DENIED', message, {
      hint: 'Sign with an identity that holds the needed role, e.g. `--identity Org1/admin`.',
      ...options,
    });
  }
}

/** The record already exists, or concurrent transactions kept conflicting after every retry. */
export class ConflictError extends LedgerError {
  override readonly name: string = 'ConflictError';

  constructor(message: string, options: LedgerErrorOptions = {}) {
    super('CONFLICT', message, {
      hint: 'Read the current state again and retry if the action still makes sense.',
      ...options,
    });
  }
}

/** The record is in a state that does not allow the action (scoring an open job, committing to a cancelled one). */
export class FailedPreconditionError extends LedgerError {
  override readonly name: string = 'FailedPreconditionError';

  constructor(message: string, options: LedgerErrorOptions = {}) {
    super('FAILED_PRECONDITION', message, {
      hint: 'Check the record with `decenter job show ID`; the action is not allowed in its current state.',
      ...options,
    });
  }
}

/** The ledger answered with data that does not match the expected shape: a chaincode version mismatch. */
export class LedgerIntegrityError extends LedgerError {
  override readonly name: string = 'LedgerIntegrityError';

  constructor(message: string, options: LedgerErrorOptions = {}) {
    super('INTEGRITY', message, {
      hint: 'The chaincode and this client disagree on a record format; deploy matching versions.',
      ...options,
    });
  }
}

/** The peer could not be reached or did not answer in time. */
export class LedgerUnavailableError extends LedgerError {
  override readonly name: string = 'LedgerUnavailableError';

  constructor(message: string, options: LedgerErrorOptions & { timeout?: boolean } = {}) {
    super(options.timeout === true ? 'TIMEOUT' : 'UNAVAILABLE', message, {
      hint: 'Is the network up? Start it with `decenter network up`, or check `decenter network status`.',
      ...options,
    });
  }
}

/** network.json or the chosen identity is missing or malformed. */
export class LedgerConfigError extends LedgerError {
  override readonly name: string = 'LedgerConfigError';

  constructor(message: string, options: LedgerErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, {
      hint: 'Create the network with `decenter network up`, or point DECENTER_HOME at the folder holding network.json.',
      ...options,
    });
  }
}

/** A transaction argument or ledger record failed validation. */
export function invalidArgument(message: string, options: LedgerErrorOptions = {}): ValidationError {
  const match = /^([A-Za-z_][\w.[\]]*) (must|is|are|has|needs) /.exec(message);
  const path = match?.[1] ?? '';
  return new ValidationError(
    'transaction argument',
    [{ path, message: match ? message.slice(path.length + 1) : message }],
    {
      hint: 'Correct the named field and send the transaction again.',
      ...options,
    },
  );
}
