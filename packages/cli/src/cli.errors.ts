import { DecenterError } from '@decenter/core';

/** The command line was wrong: a missing argument, a bad option value, a refused confirmation. */
export class UsageError extends DecenterError {
  override readonly name: string = 'UsageError';

  constructor(message: string, hint?: string) {
    super('INVALID_ARGUMENT', message, hint === undefined ? {} : { hint });
  }
}

/** Something this command manages locally (the devnet process, its files) is not in the expected state. */
export class CliOperationError extends DecenterError {
  override readonly name: string = 'CliOperationError';
}
