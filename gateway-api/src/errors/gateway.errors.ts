import { DecenterError, type DecenterErrorOptions, type ErrorCode } from '@decenter/core';

/** The environment failed validation; `problems` names every bad variable. */
export class ConfigError extends DecenterError {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      'INVALID_ARGUMENT',
      `Invalid gateway configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      {
        hint: 'Set or fix the environment variables listed above (gateway-api/README.md describes each one).',
      },
    );
    this.problems = problems;
  }
}

/** An error the HTTP layer turns into `{ statusCode, code, message, hint }`. */
export class ApiError extends DecenterError {
  override readonly name: string = 'ApiError';
  readonly status: number;

  constructor(status: number, code: ErrorCode, message: string, options: DecenterErrorOptions = {}) {
    super(code, message, options);
    this.status = status;
  }
}

export class UnauthenticatedError extends ApiError {
  override readonly name = 'UnauthenticatedError';
  constructor(message = 'You are not signed in, or your session has expired.', cause?: unknown) {
    super(401, 'ACCESS_DENIED', message, {
      hint: 'Sign in again (POST /api/auth/login, or `decenter login`) and send the token as `Authorization: Bearer <token>`.',
      cause,
    });
  }
}

export class ForbiddenError extends ApiError {
  override readonly name = 'ForbiddenError';
  constructor(message: string, hint = 'Ask an admin of the owning org for access.') {
    super(403, 'ACCESS_DENIED', message, { hint });
  }
}

export class NotFoundApiError extends ApiError {
  override readonly name = 'NotFoundApiError';
  constructor(message: string, hint: string) {
    super(404, 'NOT_FOUND', message, { hint });
  }
}

export class UnavailableError extends ApiError {
  override readonly name = 'UnavailableError';
  constructor(message: string, hint: string, cause?: unknown) {
    super(503, 'UNAVAILABLE', message, { hint, cause });
  }
}
