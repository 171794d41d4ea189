import { DecenterError, type DecenterErrorOptions, type ErrorCode } from '@decenter/core';

/** A failure of the validator node itself (configuration, storage, data), with what to do about it. */
export class ValidatorError extends DecenterError {
  override readonly name: string = 'ValidatorError';

  constructor(code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(code, message, options);
  }
}

export class ValidatorConfigError extends ValidatorError {
  override readonly name: string = 'ValidatorConfigError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, {
      hint: 'Fix the command line or the environment, then start the validator again.',
      ...options,
    });
  }
}

/**
 * A candidate failed a verification check. Not a fault of the validator: the reason goes to the ledger
 * through SubmitScores, and the candidate cannot win.
 */
export class CandidateRejectedError extends ValidatorError {
  override readonly name: string = 'CandidateRejectedError';

  constructor(
    readonly check: VerificationCheck,
    readonly reason: string,
    options: DecenterErrorOptions = {},
  ) {
    super('INTEGRITY', `${check}: ${reason}`, {
      hint: 'The candidate was rejected; its trainer must train and commit a new one.',
      ...options,
    });
  }
}

export type VerificationCheck =
  'artifacts' | 'encoding' | 'artifact-hash' | 'layers' | 'topology' | 'weights' | 'replay';

/** One line of text from any error, for logs and ledger reasons. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n').join(' ').replace(/\s+/g, ' ').trim();
  return String(error);
}
