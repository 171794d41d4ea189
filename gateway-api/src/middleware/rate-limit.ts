import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { ThrottlerOptions } from '@nestjs/throttler';

import type { AppConfig } from '../config/config.schema';

const SCOPE_KEY = 'decenter:rate-limit-scope';
type Scope = 'login' | 'upload';

/** Puts a route under one of the named rate limits (per client address, per minute). */
export const RateLimited = (scope: Scope) => SetMetadata(SCOPE_KEY, scope);

function scopeOf(context: ExecutionContext): Scope | undefined {
  const handler = Reflect.getMetadata(SCOPE_KEY, context.getHandler()) as Scope | undefined;
  return handler ?? (Reflect.getMetadata(SCOPE_KEY, context.getClass()) as Scope | undefined);
}

/** One throttler per scope, each skipped on routes outside its scope: the rest of the API is not limited here. */
export function rateLimits(config: AppConfig): ThrottlerOptions[] {
  return [
    {
      name: 'login',
      ttl: 60_000,
      limit: config.loginRateLimitPerMinute,
      skipIf: (context) => scopeOf(context) !== 'login',
    },
    {
      name: 'upload',
      ttl: 60_000,
      limit: config.uploadRateLimitPerMinute,
      skipIf: (context) => scopeOf(context) !== 'upload',
    },
  ];
}
