import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, parse as parsePath, resolve } from 'node:path';
import { z } from 'zod';

import { LedgerConfigError } from './ledger.errors';

export const IDENTITY_ROLES = ['admin', 'member', 'executor', 'validator'] as const;

const identitySchema = z.strictObject({
  org: z.string().min(1),
  mspId: z.string().min(1),
  user: z.string().min(1),
  role: z.enum(IDENTITY_ROLES),
  /** Path of the PEM certificate, absolute or relative to network.json. */
  cert: z.string().min(1),
  /** Path of the PKCS#8 PEM private key, absolute or relative to network.json. */
  key: z.string().min(1),
});

/** `network.json`, as the devnet's dev CA and the Fabric assets write it. */
export const networkConfigSchema = z.object({
  peer: z.object({
    endpoint: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port'),
    tlsRootCert: z.string().min(1).nullable(),
    hostAlias: z.string().min(1),
  }),
  channel: z.string().min(1),
  chaincode: z.string().min(1),
  identities: z.array(identitySchema).min(1),
});

export type NetworkConfig = z.infer<typeof networkConfigSchema>;
export type NetworkIdentity = NetworkConfig['identities'][number];
export type NetworkKind = 'devnet' | 'fabric';

export interface LedgerEnvironment {
  network: NetworkKind;
  /** DECENTER_HOME: where network.json, crypto material and ledger state live. */
  home: string;
  /** The network.json to connect with. */
  configPath: string;
}

/** Walks up from `start` to the folder whose package.json is the DeCenter repository root. */
export function findRepoRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (parsed.name === 'decenter') return dir;
      } catch {
        // An unreadable package.json on the way up is not ours; keep walking.
      }
    }
    if (dir === parsePath(dir).root) return undefined;
    dir = dirname(dir);
  }
}

/** DECENTER_HOME, or `<repo>/.decenter` found from the working directory (or else from this package). */
export function resolveHome(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const fromEnv = env['DECENTER_HOME'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(cwd, fromEnv);
  const root = findRepoRoot(cwd) ?? findRepoRoot(__dirname);
  if (root === undefined) {
    throw new LedgerConfigError(
      'DECENTER_HOME is not set and no DeCenter repository was found above ' + cwd,
      {
        hint: 'Set DECENTER_HOME to the folder holding network.json, or run from inside the DeCenter repository.',
      },
    );
  }
  return join(root, '.decenter');
}

/**
 * Which network to talk to, from DECENTER_NETWORK (devnet | fabric), DECENTER_HOME and, to point anywhere
 * else, DECENTER_NETWORK_CONFIG. The devnet writes `$DECENTER_HOME/network.json`; a real Fabric network's
 * connection file lives in `$DECENTER_HOME/fabric/network.json`. Switching is configuration, never code.
 */
export function resolveLedgerEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): LedgerEnvironment {
  const kind = env['DECENTER_NETWORK'] ?? 'devnet';
  if (kind !== 'devnet' && kind !== 'fabric') {
    throw new LedgerConfigError(`DECENTER_NETWORK is "${kind}"; expected devnet or fabric`, {
      hint: 'Set DECENTER_NETWORK=devnet (the default) or DECENTER_NETWORK=fabric.',
    });
  }
  const home = resolveHome(env, cwd);
  const explicit = env['DECENTER_NETWORK_CONFIG'];
  const configPath =
    explicit !== undefined && explicit !== ''
      ? resolve(cwd, explicit)
      : kind === 'fabric'
        ? join(home, 'fabric', 'network.json')
        : join(home, 'network.json');
  return { network: kind, home, configPath };
}

/** Parses network.json text; relative certificate and key paths are taken from the file's folder. */
export function parseNetworkConfig(text: string, source: string): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LedgerConfigError(`${source} is not valid JSON`, { cause: err });
  }
  const result = networkConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new LedgerConfigError(`${source} is malformed: ${problems.join('; ')}`, { cause: result.error });
  }
  const base = dirname(source);
  const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(base, path));
  const config = result.data;
  return {
    ...config,
    peer: {
      ...config.peer,
      tlsRootCert: config.peer.tlsRootCert === null ? null : absolute(config.peer.tlsRootCert),
    },
    identities: config.identities.map((identity) => ({
      ...identity,
      cert: absolute(identity.cert),
      key: absolute(identity.key),
    })),
  };
}

export async function loadNetworkConfig(path: string): Promise<NetworkConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new LedgerConfigError(`cannot read ${path}`, { cause: err });
  }
  return parseNetworkConfig(text, path);
}

/**
 * Picks the identity named `ORG/USER` (ORG is the org name or its MSP ID). Without a name, the first
 * member identity signs: the least privileged one.
 */
export function selectIdentity(config: NetworkConfig, name?: string): NetworkIdentity {
  if (name === undefined || name === '') {
    const member = config.identities.find((identity) => identity.role === 'member') ?? config.identities[0];
    if (member === undefined) throw new LedgerConfigError('network.json lists no identities');
    return member;
  }
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) {
    throw new LedgerConfigError(`identity "${name}" is not of the form ORG/USER`, {
      hint: 'Name an identity as ORG/USER, e.g. Org1/user1.',
    });
  }
  const org = name.slice(0, slash);
  const user = name.slice(slash + 1);
  const found = config.identities.find(
    (identity) => (identity.org === org || identity.mspId === org) && identity.user === user,
  );
  if (found === undefined) {
    const known = config.identities.map((identity) => `${identity.org}/${identity.user}`).join(', ');
    throw new LedgerConfigError(`no identity ${name} in network.json`, {
      hint: `Known identities: ${known}.`,
    });
  }
  return found;
}
