import { DecenterError } from '@decenter/core';
import { AccessDeniedError, LedgerUnavailableError, NotFoundError } from '@decenter/ledger';
import { CommanderError } from 'commander';

import { UsageError } from './cli.errors';
import { EXIT, exitCodeFor } from './exit-codes';

describe('exitCodeFor', () => {
  it('maps each kind of failure to its documented code', () => {
    expect(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', 'help'))).toBe(EXIT.ok);
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', 'x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new UsageError('x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new NotFoundError('x'))).toBe(EXIT.notFound);
    expect(exitCodeFor(new AccessDeniedError('x'))).toBe(EXIT.accessDenied);
    expect(exitCodeFor(new LedgerUnavailableError('x'))).toBe(EXIT.unavailable);
    expect(exitCodeFor(new LedgerUnavailableError('x', { timeout: true }))).toBe(EXIT.unavailable);
    expect(exitCodeFor(new DecenterError('INTEGRITY', 'x'))).toBe(EXIT.failure);
    expect(exitCodeFor(new Error('x'))).toBe(EXIT.failure);
  });
});
