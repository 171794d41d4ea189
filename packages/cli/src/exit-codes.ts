import { DecenterError } from '@decenter/core';
import { CommanderError } from 'commander';

import { UsageError } from './cli.errors';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  accessDenied: 4,
  unavailable: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** The process exit code for an error: scripts branch on these, so they never change meaning. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CommanderError) return HELP_CODES.has(err.code) ? EXIT.ok : EXIT.usage;
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof DecenterError) {
    switch (err.code) {
      case 'NOT_FOUND':
        return EXIT.notFound;
      case 'ACCESS_DENIED':
        return EXIT.accessDenied;
      case 'UNAVAILABLE':
      case 'TIMEOUT':
        return EXIT.unavailable;
      default:
        return EXIT.failure;
    }
  }
  return EXIT.failure;
}
