import { DecenterError, type DecenterErrorOptions, type ErrorCode } from '@decenter/core';

/** The node's own configuration or command line is unusable. */
export class ExecutorConfigError extends DecenterError {
  override readonly name: string = 'ExecutorConfigError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, {
      hint: 'Fix the named option or config field; `node execution-node/dist/src/main.js --help` lists them.',
      ...options,
    });
  }
}

/**
 * A trial cannot be trained: its data, spec or model is refused, or training failed. The message is what
 * the ledger records as the trial's failure reason, so it says what was wrong in terms a job owner can act on.
 */
export class TrialFailedError extends DecenterError {
  override readonly name: string = 'TrialFailedError';

  constructor(code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The sandboxed trainer process died or broke its protocol with the node. */
export class SandboxError extends DecenterError {
  override readonly name: string = 'SandboxError';

  constructor(message: string, options: DecenterErrorOptions = {}) {
    super('INTERNAL', message, {
      hint: 'Check the node log for the trainer output; raise memoryMiB in the node config if it ran out of memory.',
      ...options,
    });
  }
}

/** Renders any error as a one-line failure reason for the ledger (bounded: the chaincode takes 1024 chars). */
export function failureReason(error: unknown): string {
  const parts: string[] = [];
  if (error instanceof DecenterError) {
    parts.push(`${error.code}: ${error.message}`);
    if (error.hint !== undefined) parts.push(`(${error.hint})`);
  } else if (error instanceof Error) {
    parts.push(`${error.name}: ${error.message}`);
  } else {
    parts.push(String(error));
  }
  const text = parts.join(' ').replace(/\s+/g, ' ').trim();
  return text.length > 1000 ? `${text.slice(0, 997)}...` : text;
}
