import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import type { NodeCapabilities, TrainingBackend } from '@decenter/core';
import { resolveLedgerEnvironment } from '@decenter/ledger';
import { z } from 'zod';

import { ExecutorConfigError } from './executor.errors';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const satisfies TrainingBackend[];

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');

/** The node config file (JSON): which jobs the node accepts and what it offers. Every field has a default. */
export const nodeConfigFileSchema = z.strictObject({
  accepts: z
    .strictObject({
      /** Orgs (MSP ID or org name) whose jobs this node trains; every org when left out. */
      orgs: z.array(z.string().min(1).max(128)).min(1).max(256).optional(),
      /** Largest train + validation data, in bytes, this node downloads for one trial. */
      maxDataBytes: z.int().min(1).optional(),
      /** Largest model, in trainable parameters, this node trains. */
      maxModelParameters: z.int().min(1).optional(),
      /** Backends the node may train with, best first; the first that starts is used. */
      backends: z.array(z.enum(BACKENDS)).min(1).max(BACKENDS.length).default(['wasm', 'cpu']),
    })
    .default({ backends: ['wasm', 'cpu'] }),
  offers: z
    .strictObject({
      cores: z.int().min(1).max(1024).optional(),
      /** Memory limit of each trial's trainer process (V8 old space), in MiB. */
      memoryMiB: z.int().min(128).max(1_048_576).default(1024),
    })
    .default({ memoryMiB: 1024 }),
  /** Trials trained at once. */
  concurrency: z.int().min(1).max(64).default(1),
  /** Folder of the local object store (the gateway's STORAGE_DIR); `$DECENTER_HOME/storage` by default. */
  storageDir: z.string().min(1).optional(),
  /**
   * Progress of a job goes to the gateway of the job owner's org, so the owner sees every node's curves:
   * MSP ID -> that gateway's progress gRPC endpoint, e.g. {"Org1MSP": "127.0.0.1:50151"}.
   */
  progressEndpoints: z
    .record(z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected an MSP ID'), hostPort)
    .optional(),
  /** The progress endpoint for owners' orgs `progressEndpoints` does not name; none: not reported. */
  progressEndpoint: hostPort.optional(),
  /** How often open jobs are scanned for free or expired trials, besides following events. */
  pollSeconds: z.number().min(0.2).max(3600).default(10),
  /** The lease is renewed after this share of it has passed. */
  leaseRenewFraction: z
    .number()
    .min(0.1)
    .max(0.9)
    .default(1 / 3),
});

export type NodeConfigFile = z.input<typeof nodeConfigFileSchema>;

/** Everything the node needs, resolved once at start; nothing else reads the environment. */
export interface NodeConfig {
  identity: string;
  org: string;
  user: string;
  home: string;
  /** network.json of the ledger (the devnet's, or a real Fabric network's). */
  networkConfigPath: string;
  /** `$DECENTER_HOME/nodes/<org>-<user>`: event checkpoint, status, cache and trial folders. */
  nodeDir: string;
  storageDir: string;
  concurrency: number;
  accepts: {
    orgs?: string[];
    maxDataBytes?: number;
    maxModelParameters?: number;
    backends: TrainingBackend[];
  };
  offers: { cores: number; memoryMiB: number };
  /** Progress endpoint per job owner MSP ID; `progressEndpoint` for the orgs it does not name. */
  progressEndpoints: Record<string, string>;
  progressEndpoint?: string;
  pollMs: number;
  leaseRenewFraction: number;
}

export interface CliOptions {
  identity: string;
  home?: string;
  concurrency?: number;
  config?: string;
}

const USAGE =
  'usage: node execution-node/dist/src/main.js --identity ORG/USER [--home DIR] [--concurrency N] [--config FILE]';

export function usage(): string {
  return USAGE;
}

/** Parses the command line; refuses unknown options and malformed values with the usage line. */
export function parseCli(argv: readonly string[]): CliOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        identity: { type: 'string' },
        home: { type: 'string' },
        concurrency: { type: 'string' },
        config: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (cause) {
    throw new ExecutorConfigError(`${(cause as Error).message}\n${USAGE}`, { cause });
  }
  const identity = values['identity'];
  if (typeof identity !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(identity)) {
    throw new ExecutorConfigError(`--identity ORG/USER is required (e.g. Org1/executor1)\n${USAGE}`);
  }
  const options: CliOptions = { identity };
  if (typeof values['home'] === 'string') options.home = values['home'];
  if (typeof values['config'] === 'string') options.config = values['config'];
  const concurrency = values['concurrency'];
  if (typeof concurrency === 'string') {
    const n = Number(concurrency);
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new ExecutorConfigError(`--concurrency must be an integer from 1 to 64, got "${concurrency}"`);
    }
    options.concurrency = n;
  }
  return options;
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `  - ${issue.path.length === 0 ? '(root)' : issue.path.join('.')}: ${issue.message}`)
    .join('\n');
}

/** Validates a parsed config file; names every bad field. */
export function parseNodeConfigFile(raw: unknown, source: string): z.output<typeof nodeConfigFileSchema> {
  const result = nodeConfigFileSchema.safeParse(raw);
  if (!result.success) {
    throw new ExecutorConfigError(`${source} is invalid:\n${formatIssues(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** Resolves the node's config from the command line, the optional config file and the environment. */
export async function resolveNodeConfig(
  cli: CliOptions,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<NodeConfig> {
  let raw: unknown = {};
  if (cli.config !== undefined) {
    const file = path.resolve(cwd, cli.config);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      throw new ExecutorConfigError(`cannot read the node config ${file}`, { cause });
    }
    try {
      raw = JSON.parse(text);
    } catch (cause) {
      throw new ExecutorConfigError(`the node config ${file} is not valid JSON`, { cause });
    }
  }
  const file = parseNodeConfigFile(raw, cli.config ?? 'the node config');
  const homeSetting = cli.home ?? env['DECENTER_HOME'];
  if (homeSetting === undefined || homeSetting === '') {
    throw new ExecutorConfigError('no DeCenter home: pass --home DIR or set DECENTER_HOME');
  }
  const home = path.resolve(cwd, homeSetting);
  const [org = '', user = ''] = cli.identity.split('/');
  const storageDir = path.resolve(
    home,
    file.storageDir ?? env['DECENTER_STORAGE_DIR'] ?? env['STORAGE_DIR'] ?? 'storage',
  );
  const progressEndpoint = file.progressEndpoint ?? env['DECENTER_PROGRESS_ENDPOINT'];
  if (progressEndpoint !== undefined && !hostPort.safeParse(progressEndpoint).success) {
    throw new ExecutorConfigError(`DECENTER_PROGRESS_ENDPOINT must be host:port, got "${progressEndpoint}"`);
  }
  return {
    identity: cli.identity,
    org,
    user,
    home,
    networkConfigPath: resolveLedgerEnvironment({ ...env, DECENTER_HOME: home }, cwd).configPath,
    nodeDir: path.join(home, 'nodes', `${org}-${user}`),
    storageDir,
    concurrency: cli.concurrency ?? file.concurrency,
    accepts: {
      backends: file.accepts.backends,
      ...(file.accepts.orgs === undefined ? {} : { orgs: file.accepts.orgs }),
      ...(file.accepts.maxDataBytes === undefined ? {} : { maxDataBytes: file.accepts.maxDataBytes }),
      ...(file.accepts.maxModelParameters === undefined
        ? {}
        : { maxModelParameters: file.accepts.maxModelParameters }),
    },
    offers: {
      cores: file.offers.cores ?? cpus().length,
      memoryMiB: Math.min(file.offers.memoryMiB, Math.floor(totalmem() / 1024 / 1024)),
    },
    progressEndpoints: file.progressEndpoints ?? {},
    ...(progressEndpoint === undefined ? {} : { progressEndpoint }),
    pollMs: Math.round(file.pollSeconds * 1000),
    leaseRenewFraction: file.leaseRenewFraction,
  };
}

/** What RegisterNode records: what the node offers and which jobs it accepts. */
export function capabilitiesOf(config: NodeConfig): NodeCapabilities {
  return {
    cores: config.offers.cores,
    memoryMiB: config.offers.memoryMiB,
    backends: config.accepts.backends,
    accepts: {
      ...(config.accepts.orgs === undefined ? {} : { orgs: config.accepts.orgs }),
      ...(config.accepts.maxDataBytes === undefined ? {} : { maxDataBytes: config.accepts.maxDataBytes }),
      ...(config.accepts.maxModelParameters === undefined
        ? {}
        : { maxModelParameters: config.accepts.maxModelParameters }),
    },
  };
}

/** Whether a job's owner org is one this node works for (an org matches by MSP ID or by name). */
export function acceptsOrg(config: Pick<NodeConfig, 'accepts'>, ownerMspId: string): boolean {
  const orgs = config.accepts.orgs;
  if (orgs === undefined) return true;
  return orgs.some((org) => org === ownerMspId || `${org}MSP` === ownerMspId);
}
