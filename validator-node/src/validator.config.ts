import path from 'node:path';
import { parseArgs } from 'node:util';

import { resolveLedgerEnvironment } from '@decenter/ledger';

import { ValidatorConfigError } from './validator.errors';

/** Everything the validator needs, resolved once at start; nothing else reads the environment. */
export interface ValidatorConfig {
  identity: string;
  org: string;
  user: string;
  home: string;
  networkConfigPath: string;
  /** `$DECENTER_HOME/nodes/<org>-<user>`: event checkpoint and working folders. */
  nodeDir: string;
  storageDir: string;
  /** How often jobs are scanned for passed deadlines and missed work, besides following events. */
  pollMs: number;
}

export interface ValidatorCliOptions {
  identity: string;
  home?: string;
  pollSeconds?: number;
}

const USAGE =
  'usage: node validator-node/dist/src/main.js --identity ORG/USER [--home DIR] [--poll-seconds N]';

export function usage(): string {
  return USAGE;
}

/** Parses the command line; refuses unknown options and malformed values with the usage line. */
export function parseCli(argv: readonly string[]): ValidatorCliOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        identity: { type: 'string' },
        home: { type: 'string' },
        'poll-seconds': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (cause) {
    throw new ValidatorConfigError(`${(cause as Error).message}\n${USAGE}`, { cause });
  }
  const identity = values['identity'];
  if (typeof identity !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(identity)) {
    throw new ValidatorConfigError(`--identity ORG/USER is required (e.g. Org2/validator1)\n${USAGE}`);
  }
  const options: ValidatorCliOptions = { identity };
  if (typeof values['home'] === 'string') options.home = values['home'];
  const poll = values['poll-seconds'];
  if (typeof poll === 'string') {
    const n = Number(poll);
    if (!Number.isFinite(n) || n < 0.2 || n > 3600) {
      throw new ValidatorConfigError(`--poll-seconds must be a number from 0.2 to 3600, got "${poll}"`);
    }
    options.pollSeconds = n;
  }
  return options;
}

/** Resolves the configuration from the command line and the environment. */
export function resolveValidatorConfig(
  cli: ValidatorCliOptions,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): ValidatorConfig {
  const homeSetting = cli.home ?? env['DECENTER_HOME'];
  if (homeSetting === undefined || homeSetting === '') {
    throw new ValidatorConfigError('no DeCenter home: pass --home DIR or set DECENTER_HOME');
  }
  const home = path.resolve(cwd, homeSetting);
  const [org = '', user = ''] = cli.identity.split('/');
  return {
    identity: cli.identity,
    org,
    user,
    home,
    networkConfigPath: resolveLedgerEnvironment({ ...env, DECENTER_HOME: home }, cwd).configPath,
    nodeDir: path.join(home, 'nodes', `${org}-${user}`),
    storageDir: path.resolve(home, env['DECENTER_STORAGE_DIR'] ?? env['STORAGE_DIR'] ?? 'storage'),
    pollMs: Math.round((cli.pollSeconds ?? 10) * 1000),
  };
}
