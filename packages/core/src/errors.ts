/** Stable machine-readable error codes shared by every app (HTTP mapping lives in the gateway). */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_SPEC'
  | 'INVALID_DATA'
  | 'NOT_FOUND'
  | 'ACCESS_DENIED'
  | 'CONFLICT'
  | 'FAILED_PRECONDITION'
  | 'INTEGRITY'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'INTERNAL';

export interface DecenterErrorOptions {
  /** What the user can do about it; shown after the message by the CLI and the portal. */
  hint?: string;
  cause?: unknown;
}

/** Base class of every domain error: a stable `code`, a `hint` telling the user what to do, and a `cause`. */
export class DecenterError extends Error {
  override readonly name: string = 'DecenterError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

/** One problem found while validating an input, with the path of the offending field. */
export interface ValidationIssue {
  /** Dotted path, e.g. `search.learningRate[1]`; empty for the document itself. */
  path: string;
  message: string;
}

/** An input (spec, topology, manifest, argument) failed validation; `issues` names every offending field. */
export class ValidationError extends DecenterError {
  override readonly name: string = 'ValidationError';
  readonly issues: readonly ValidationIssue[];

  constructor(subject: string, issues: readonly ValidationIssue[], options: DecenterErrorOptions = {}) {
    super('INVALID_ARGUMENT', formatIssues(subject, issues), options);
    this.issues = issues;
  }
}

/** The job spec failed its schema. */
export class SpecValidationError extends ValidationError {
  override readonly name: string = 'SpecValidationError';
  override readonly code = 'INVALID_SPEC' as const;

  constructor(issues: readonly ValidationIssue[]) {
    super('job spec', issues, {
      hint: 'Fix the fields listed above; `docs/users.md` describes every field.',
    });
  }
}

function formatIssues(subject: string, issues: readonly ValidationIssue[]): string {
  const lines = issues.map((issue) => `  - ${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`);
  return `Invalid ${subject} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** Renders a zod-style path (`['search', 'seeds', 1]`) as `search.seeds[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
