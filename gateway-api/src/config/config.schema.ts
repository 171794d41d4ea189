import path from 'node:path';

import { DEFAULT_BLOCK_SIZE, DEFAULT_SHARD_SIZE } from '@decenter/core';
import { z } from 'zod';

import { ConfigError } from '../errors/gateway.errors';

const GiB = 1024 ** 3;

const bytes = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

/** Every environment variable the gateway reads, with its default. Nothing else reads `process.env`. */
const envSchema = z.object({
  DECENTER_HOME: z.string().min(1).optional(),
  GATEWAY_ORG: z
    .string({ error: 'is required: the org this gateway serves, e.g. Org1' })
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must be an org name such as Org1'),
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: port(8080),
  GRPC_PORT: port(50151),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' })
    .default('redis://127.0.0.1:6379'),
  STORAGE_DIR: z.string().min(1).optional(),
  SHARD_SIZE: bytes(DEFAULT_SHARD_SIZE),
  BLOCK_SIZE: bytes(DEFAULT_BLOCK_SIZE).pipe(z.number().min(1024, 'must be at least 1024')),
  UPLOAD_MAX_FILE_BYTES: bytes(20 * GiB),
  UPLOAD_MAX_USER_BYTES: bytes(100 * GiB),
  UPLOAD_EXPIRY_HOURS: z.coerce
    .number()
    .min(0.01)
    .max(24 * 365)
    .default(72),
  SESSION_TTL: z.coerce
    .number()
    .int()
    .min(1, 'must be at least 1 second')
    .default(12 * 3600),
  CORS_ORIGINS: z.string().default('http://localhost:5173,http://127.0.0.1:5173'),
  LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).default(10),
  UPLOAD_RATE_LIMIT: z.coerce.number().int().min(1).default(1200),
  INGEST_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  COOKIE_SECURE: z.enum(['true', 'false']).default('false'),
});

export interface AppConfig {
  /** Root of the deployment's state: network.json, <org>/users.json, audit/. */
  home: string;
  org: string;
  host: string;
  port: number;
  grpcPort: number;
  redisUrl: string;
  storageDir: string;
  uploadDir: string;
  auditDir: string;
  shardSize: number;
  blockSize: number;
  uploadMaxFileBytes: number;
  uploadMaxUserBytes: number;
  /** Unfinished uploads older than this are deleted. */
  uploadExpiryHours: number;
  sessionTtlSeconds: number;
  corsOrigins: string[];
  loginRateLimitPerMinute: number;
  uploadRateLimitPerMinute: number;
  ingestAttempts: number;
  cookieSecure: boolean;
}

/**
 * Validates the environment once, at start-up. Throws `ConfigError` naming every missing or invalid
 * variable at once, so an operator fixes them in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv, defaults: { repoRoot: string }): AppConfig {
  const parsed = envSchema.safeParse(env);
  // Checked apart from the field schemas so they are reported even when another variable is bad too.
  const problems = crossChecks(env);
  if (!parsed.success) {
    problems.unshift(
      ...parsed.error.issues.map((issue) => {
        const variable = issue.path.map(String).join('.');
        const message =
          issue.code === 'invalid_type' && env[variable] === undefined
            ? missingMessage(issue)
            : issue.message;
        return `${variable}: ${message}`;
      }),
    );
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const home = path.resolve(e.DECENTER_HOME ?? path.join(defaults.repoRoot, '.decenter'));
  const storageDir = path.resolve(e.STORAGE_DIR ?? path.join(home, 'storage'));
  return {
    home,
    org: e.GATEWAY_ORG,
    host: e.GATEWAY_HOST,
    port: e.GATEWAY_PORT,
    grpcPort: e.GRPC_PORT,
    redisUrl: e.REDIS_URL,
    storageDir,
    uploadDir: path.join(storageDir, 'uploads'),
    auditDir: path.join(home, 'audit'),
    shardSize: e.SHARD_SIZE,
    blockSize: e.BLOCK_SIZE,
    uploadMaxFileBytes: e.UPLOAD_MAX_FILE_BYTES,
    uploadMaxUserBytes: e.UPLOAD_MAX_USER_BYTES,
    uploadExpiryHours: e.UPLOAD_EXPIRY_HOURS,
    sessionTtlSeconds: e.SESSION_TTL,
    corsOrigins: splitList(e.CORS_ORIGINS),
    loginRateLimitPerMinute: e.LOGIN_RATE_LIMIT,
    uploadRateLimitPerMinute: e.UPLOAD_RATE_LIMIT,
    ingestAttempts: e.INGEST_ATTEMPTS,
    cookieSecure: e.COOKIE_SECURE === 'true',
  };
}

function crossChecks(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const block = envSchema.shape.BLOCK_SIZE.safeParse(env['BLOCK_SIZE']);
  const shard = envSchema.shape.SHARD_SIZE.safeParse(env['SHARD_SIZE']);
  if (block.success && shard.success) {
    const ratio = shard.data / block.data;
    // Part digests combine into the object digest only if every full part holds 2^k blocks.
    if (!Number.isInteger(ratio) || !Number.isInteger(Math.log2(ratio))) {
      problems.push('SHARD_SIZE: must be BLOCK_SIZE times a power of two');
    }
  }
  for (const origin of splitList(env['CORS_ORIGINS'] ?? '')) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      problems.push(`CORS_ORIGINS: "${origin}" is not an origin such as https://portal.example.org`);
    }
  }
  return problems;
}

function missingMessage(issue: z.core.$ZodIssue): string {
  return issue.message.startsWith('is required') ? issue.message : 'is required';
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
