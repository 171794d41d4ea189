import { inspect } from 'node:util';

import { z } from 'zod';

import { GreenfieldConfigError } from './errors';

/**
 * Holds the account's private key so that logging, JSON-encoding or inspecting the configuration can never
 * print it: only `reveal()` gives the value, and only the signer calls it.
 */
export class SecretKey {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'SecretKey([redacted])';
  }
}

export interface GreenfieldConfig {
  rpcUrl: string;
  chainId: string;
  /** Storage provider to talk to; when absent, the bucket's primary SP is looked up on chain. */
  spEndpoint: string | undefined;
  /** Operator address of the primary SP for new buckets; when absent, the SP serving `spEndpoint` or the first in service. */
  primarySpAddress: string | undefined;
  privateKey: SecretKey;
  /** Prepended to every DeCenter bucket name: Greenfield bucket names are global across all users. */
  bucketPrefix: string;
  /** JSON file mapping DeCenter identities (MSP ID + identity id) to Greenfield 0x accounts. */
  accountMapFile: string;
}

const httpUrl = z.url().refine((value) => /^https?:\/\//.test(value), 'must be an http:// or https:// URL');

const schema = z.object({
  GREENFIELD_RPC_URL: httpUrl,
  GREENFIELD_CHAIN_ID: z.string().regex(/^[a-z0-9_-]+$/i, 'must be a chain id such as greenfield_1017-1'),
  GREENFIELD_SP_ENDPOINT: httpUrl.optional(),
  GREENFIELD_PRIMARY_SP_ADDRESS: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
    .optional(),
  GREENFIELD_PRIVATE_KEY: z
    .string()
    // Never echo the value back: the message only says what shape is expected.
    .regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex (64 hex digits, optionally 0x-prefixed)'),
  // Greenfield bucket names are 3-63 of [a-z0-9-]; the prefix leaves room for DeCenter's own name.
  GREENFIELD_BUCKET_PREFIX: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{0,29}$/,
      'must be 1-30 lowercase letters, digits or dashes, not starting with a dash',
    ),
  GREENFIELD_ACCOUNT_MAP: z.string().min(1, 'must be the path of the account mapping JSON file'),
});

/** Validates the GREENFIELD_* variables once, naming every missing or malformed one in a single error. */
export function loadGreenfieldConfig(env: Readonly<Record<string, string | undefined>>): GreenfieldConfig {
  const input = Object.fromEntries(
    Object.keys(schema.shape).map((key) => {
      const value = env[key];
      return [key, value === undefined || value.trim() === '' ? undefined : value.trim()];
    }),
  );
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return issue.code === 'invalid_type' && input[name] === undefined
        ? `${name} is required`
        : `${name} ${issue.message}`;
    });
    throw new GreenfieldConfigError(`Invalid Greenfield configuration: ${problems.join('; ')}`);
  }
  const value = parsed.data;
  const key = value.GREENFIELD_PRIVATE_KEY;
  return {
    rpcUrl: value.GREENFIELD_RPC_URL,
    chainId: value.GREENFIELD_CHAIN_ID,
    spEndpoint: value.GREENFIELD_SP_ENDPOINT,
    primarySpAddress: value.GREENFIELD_PRIMARY_SP_ADDRESS,
    privateKey: new SecretKey(key.startsWith('0x') ? key : `0x${key}`),
    bucketPrefix: value.GREENFIELD_BUCKET_PREFIX,
    accountMapFile: value.GREENFIELD_ACCOUNT_MAP,
  };
}
