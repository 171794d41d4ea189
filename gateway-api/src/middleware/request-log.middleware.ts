import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

import { MetricsService } from '../services/metrics.service';

const SECRET_KEYS =
  /^(authorization|cookie|set-cookie|password|token|secret|key|privatekey|private_key|initialpassword)$/i;

/** A copy of `value` with every secret-looking field replaced, for anything that ends up in a log. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[…]';
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        key,
        SECRET_KEYS.test(key) ? '[REDACTED]' : redact(item, depth + 1),
      ]),
    );
  }
  return value;
}

/** Query strings may carry tokens (EventSource cannot send headers): they are masked in logs. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|password|key)=)[^&]*/gi, '$1[REDACTED]');
}

/** Logs each request's method, path, status and duration (never headers or bodies) and times it for /metrics. */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly metrics: MetricsService) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      this.metrics.httpDuration.observe(
        { method: request.method, route: `${request.baseUrl}${route}`, status: String(response.statusCode) },
        seconds,
      );
      this.logger.log(
        `${request.method} ${redactUrl(request.originalUrl)} ${String(response.statusCode)} ${(seconds * 1000).toFixed(1)}ms`,
      );
    });
    next();
  }
}
