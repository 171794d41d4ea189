import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { DecenterError, ValidationError, type ErrorCode } from '@decenter/core';
import type { Response } from 'express';

import { ApiError } from './gateway.errors';

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  hint: string;
  issues?: readonly { path: string; message: string }[];
  /** Per-dependency results of a failed health check. */
  details?: unknown;
}

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  INVALID_SPEC: 400,
  INVALID_DATA: 422,
  NOT_FOUND: 404,
  ACCESS_DENIED: 403,
  CONFLICT: 409,
  FAILED_PRECONDITION: 412,
  INTEGRITY: 422,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
};

const HTTP_CODES: Record<number, { code: string; hint: string }> = {
  400: { code: 'INVALID_ARGUMENT', hint: 'Fix the request as the message says and send it again.' },
  401: {
    code: 'UNAUTHENTICATED',
    hint: 'Sign in again and send the token as `Authorization: Bearer <token>`.',
  },
  403: { code: 'ACCESS_DENIED', hint: 'Ask an admin of the owning org for access.' },
  404: { code: 'NOT_FOUND', hint: 'Check the path and id; GET /api/docs lists every endpoint.' },
  413: { code: 'TOO_LARGE', hint: 'Send a smaller request body.' },
  429: { code: 'RATE_LIMITED', hint: 'Too many requests: wait a minute and try again.' },
};

/** Turns every error into `{ statusCode, code, message, hint }`; internal details stay in the log. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = toErrorBody(exception);
    if (exception instanceof ApiError && body.statusCode !== 500) {
      // A refusal the gateway chose (503 while sign-ins queue, 502 for a bad published manifest): one line,
      // no stack, so a burst of expected refusals under load does not bury the log.
      if (body.statusCode >= 500)
        this.logger.warn(`${String(body.statusCode)} ${body.code}: ${body.message}`);
    } else if (body.statusCode >= 500) {
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    }
    if (response.headersSent) {
      response.end();
      return;
    }
    response.status(body.statusCode).json(body);
  }
}

export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof ApiError) {
    return {
      statusCode: exception.status,
      code: exception.code,
      message: exception.message,
      hint: hintOf(exception),
    };
  }
  if (exception instanceof DecenterError) {
    const body: ErrorBody = {
      statusCode: STATUS_BY_CODE[exception.code],
      code: exception.code,
      message: exception.message,
      hint: hintOf(exception),
    };
    if (exception instanceof ValidationError) body.issues = exception.issues;
    return body;
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const known = HTTP_CODES[status] ?? { code: `HTTP_${String(status)}`, hint: 'See the message.' };
    const body: ErrorBody = {
      statusCode: status,
      code: known.code,
      message: exception.message,
      hint: known.hint,
    };
    const response = exception.getResponse();
    // Terminus reports which dependency is down under `details`; that is the point of the response.
    if (typeof response === 'object' && 'details' in response) {
      body.code = 'UNHEALTHY';
      body.message = 'A dependency of the gateway is down.';
      body.hint = 'See details: start Redis, the ledger peer or fix the storage folder, whichever is down.';
      body.details = response.details;
    }
    return body;
  }
  if (isBodyParserError(exception)) {
    const status = exception.status;
    const known = HTTP_CODES[status] ?? HTTP_CODES[400];
    return {
      statusCode: status,
      code: known?.code ?? 'INVALID_ARGUMENT',
      message: exception.message,
      hint:
        status === 413
          ? 'Send a smaller JSON body; upload files with tus at /api/uploads.'
          : 'Send valid JSON.',
    };
  }
  return {
    statusCode: 500,
    code: 'INTERNAL',
    message: 'The gateway failed unexpectedly.',
    hint: 'Try again; if it keeps failing, an operator can find the cause in the gateway log.',
  };
}

function hintOf(error: DecenterError): string {
  return error.hint ?? 'See the message.';
}

function isBodyParserError(value: unknown): value is Error & { status: number; type: string } {
  return (
    value instanceof Error &&
    typeof (value as { status?: unknown }).status === 'number' &&
    typeof (value as { type?: unknown }).type === 'string'
  );
}
