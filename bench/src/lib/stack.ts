import { mkdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';

import { createConsortium } from '@decenter/devnet';
import { LedgerConnection, NodesClient, loadNetworkConfig } from '@decenter/ledger';

import { repoRoot } from './machine';
import { BenchProcessError, ManagedProcess, freePort } from './processes';

/**
 * The pieces of the embedded stack a benchmark starts for itself, each as its own process (as
 * `decenter up` runs them), on loopback and free ports, so the client side does not share an event loop
 * with the server side it measures.
 */
export interface StartedProcess {
  process: ManagedProcess;
  stop(): Promise<void>;
}

function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => {
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A private redis-server (Debian's), without persistence. */
export async function startRedis(dir: string): Promise<StartedProcess & { url: string }> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const redis = ManagedProcess.start(
    'redis-server',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { logFile: path.join(dir, 'redis.log') },
  );
  await redis.waitFor('PONG', () => pingRedis(port), 20_000);
  return { process: redis, url: `redis://127.0.0.1:${String(port)}`, stop: () => redis.stop() };
}

/** A dev consortium (Org1..Org3) in `home` and the devnet process serving it with the real chaincode. */
export async function startDevnetProcess(
  home: string,
  options: { blockSize?: number; blockTimeoutMs?: number } = {},
): Promise<StartedProcess & { endpoint: string }> {
  const root = repoRoot();
  await createConsortium({ home });
  const port = await freePort();
  const args = [
    path.join(root, 'network', 'devnet', 'dist', 'src', 'main.js'),
    '--home',
    home,
    '--port',
    String(port),
    '--chaincode-dir',
    path.join(root, 'chaincode'),
  ];
  if (options.blockSize !== undefined) args.push('--block-size', String(options.blockSize));
  if (options.blockTimeoutMs !== undefined) args.push('--block-timeout-ms', String(options.blockTimeoutMs));
  const devnet = ManagedProcess.start('devnet', process.execPath, args, {
    logFile: path.join(home, 'devnet.log'),
  });
  await devnet.waitFor('ready', () => devnet.hasOutput('"event":"ready"'), 120_000);
  return { process: devnet, endpoint: `127.0.0.1:${String(port)}`, stop: () => devnet.stop() };
}

/** The chaincode wants validator orgs before a job without an explicit list: Org2's and Org3's register. */
export async function registerValidators(home: string): Promise<void> {
  const config = await loadNetworkConfig(path.join(home, 'network.json'));
  for (const identity of config.identities.filter((i) => i.role === 'validator' && i.org !== 'Org1')) {
    const connection = await LedgerConnection.open({ config, identity });
    try {
      await new NodesClient(connection).registerNode({ cores: 1, memoryMiB: 1024, backends: ['wasm'] });
    } finally {
      connection.close();
    }
  }
}

export interface GatewayProcess extends StartedProcess {
  url: string;
  org: string;
  home: string;
}

/** The gateway of one org as `node gateway-api/dist/src/main.js`, configured through its environment. */
export async function startGatewayProcess(
  home: string,
  org: string,
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const root = repoRoot();
  const port = await freePort();
  const gateway = ManagedProcess.start(
    `gateway ${org}`,
    process.execPath,
    [path.join(root, 'gateway-api', 'dist', 'src', 'main.js')],
    {
      cwd: root,
      logFile: path.join(home, `gateway-${org}.log`),
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? home,
        NODE_ENV: 'production',
        DECENTER_HOME: home,
        GATEWAY_ORG: org,
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: String(port),
        GRPC_PORT: String(await freePort()),
        REDIS_URL: redisUrl,
        ...env,
      },
    },
  );
  const url = `http://127.0.0.1:${String(port)}`;
  await gateway.waitFor(
    'listening',
    async () => {
      try {
        return (await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) })).status < 500;
      } catch {
        return false;
      }
    },
    120_000,
  );
  return { process: gateway, url, org, home, stop: () => gateway.stop() };
}

/** Signs in with the initial password the gateway wrote to <home>/<org>/users.json. */
export async function signIn(gateway: GatewayProcess, username: string): Promise<string> {
  const file = JSON.parse(await readFile(path.join(gateway.home, gateway.org, 'users.json'), 'utf8')) as {
    users: { username: string; initialPassword?: string }[];
  };
  const password = file.users.find((user) => user.username === username)?.initialPassword;
  if (password === undefined) {
    throw new BenchProcessError(`${gateway.org}/users.json has no initial password for ${username}`);
  }
  const response = await fetch(`${gateway.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ org: gateway.org, username, password }),
  });
  if (response.status !== 200) {
    throw new BenchProcessError(
      `sign-in of ${username} failed: ${String(response.status)} ${await response.text()}`,
    );
  }
  return ((await response.json()) as { token: string }).token;
}

/** Users the gateway provisioned for its org (member and admin identities). */
export async function orgUsers(gateway: GatewayProcess): Promise<string[]> {
  const file = JSON.parse(await readFile(path.join(gateway.home, gateway.org, 'users.json'), 'utf8')) as {
    users: { username: string }[];
  };
  return file.users.map((user) => user.username);
}
