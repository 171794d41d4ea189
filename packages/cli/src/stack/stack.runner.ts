import { spawn, spawnSync } from 'node:child_process';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createConsortium } from '@decenter/devnet';

import { CliOperationError } from '../cli.errors';
import { devnetFiles, runningDevnet, startDevnetProcess, stopDevnetProcess } from '../devnet.process';
import {
  logFileOf,
  runDir,
  runningService,
  startService,
  stopService,
  waitUntilReady,
  type ServiceDefinition,
} from './managed-process';
import { choosePort, httpStatus, redisPing } from './probes';
import {
  entryPoints,
  gatewayDefinition,
  missingBuilds,
  nodeDefinition,
  ORGS,
  PREFERRED_PORTS,
  progressSettings,
  serviceName,
  STACK_EXECUTORS,
  STACK_VALIDATORS,
  type NodeRole,
} from './stack.plan';
import { readStackState, writeStackState, type StackState } from './stack.state';

export type Note = (text: string) => void;

const DEVNET = 'devnet';
const REDIS = 'redis';
const PORTAL = 'portal';

/** Runs a build step with its output in logs/build.log; a failure names the log. */
async function runLogged(home: string, command: string, args: string[], cwd: string): Promise<void> {
  const logFile = logFileOf(home, 'build');
  await mkdir(join(home, 'logs'), { recursive: true });
  const log = await open(logFile, 'a');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, { cwd, stdio: ['ignore', log.fd, log.fd] });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) {
      throw new CliOperationError(
        'INTERNAL',
        `\`${command} ${args.join(' ')}\` failed (exit ${String(code)})`,
        {
          hint: `Read ${logFile}, fix the build, then run \`decenter up\` again.`,
        },
      );
    }
  } finally {
    await log.close();
  }
}

/** Builds what a fresh clone lacks (or everything with `force`): workspaces and chaincode, then the portal. */
export async function ensureBuilt(root: string, home: string, note: Note, force = false): Promise<void> {
  const missing = missingBuilds(root);
  if (force || missing.workspaces.length > 0) {
    note('building the workspaces and the chaincode (npm run build)...');
    await runLogged(home, 'npm', ['run', 'build'], root);
  }
  if (force || missing.portal) {
    note('building the portal (npm run build -w @decenter/portal)...');
    await runLogged(home, 'npm', ['run', 'build', '-w', '@decenter/portal'], root);
  }
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Debian's redis-server, installed with apt-get when missing and we are root. */
function ensureRedisServer(note: Note): string {
  if (hasCommand('redis-server')) return 'redis-server';
  if (process.getuid?.() !== 0) {
    throw new CliOperationError(
      'UNAVAILABLE',
      'redis-server is not installed and this user cannot install it',
      {
        hint: 'Run `sudo apt-get install redis-server`, or set REDIS_URL to a Redis you run, then `decenter up` again.',
      },
    );
  }
  note('installing redis-server with apt-get...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
    env,
    stdio: 'ignore',
  });
  if (result.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore' });
    result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
      env,
      stdio: 'ignore',
    });
  }
  if (result.status !== 0 || !hasCommand('redis-server')) {
    throw new CliOperationError('UNAVAILABLE', 'apt-get could not install redis-server', {
      hint: 'Install it by hand (`apt-get install redis-server`) or set REDIS_URL, then run `decenter up` again.',
    });
  }
  return 'redis-server';
}

interface RedisChoice {
  url: string;
  own: boolean;
}

/** REDIS_URL when given (it must answer), else a private redis-server with its data under $DECENTER_HOME/redis. */
async function ensureRedis(
  home: string,
  env: Readonly<Record<string, string | undefined>>,
  previous: StackState | undefined,
  taken: Set<number>,
  note: Note,
): Promise<RedisChoice> {
  const given = env['REDIS_URL'];
  if (given !== undefined && given !== '') {
    if (!(await redisPing(given))) {
      throw new CliOperationError('UNAVAILABLE', `no Redis answers at REDIS_URL=${given}`, {
        hint: 'Start that Redis, or unset REDIS_URL to let `decenter up` run a private one.',
      });
    }
    return { url: given, own: false };
  }
  if (
    (await runningService(home, REDIS)) !== undefined &&
    previous?.ownRedis === true &&
    (await redisPing(previous.redisUrl))
  ) {
    taken.add(Number(new URL(previous.redisUrl).port));
    return { url: previous.redisUrl, own: true };
  }
  const command = ensureRedisServer(note);
  const port = await choosePort(PREFERRED_PORTS.redis, taken);
  const dir = join(home, 'redis');
  await mkdir(dir, { recursive: true });
  const url = `redis://127.0.0.1:${String(port)}`;
  const started = await startService(home, {
    name: REDIS,
    command,
    // Only on loopback; snapshots in $DECENTER_HOME/redis so queued work survives a restart.
    args: [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '60 1',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ],
    env: {},
    marker: `127.0.0.1:${String(port)}`,
  });
  await waitUntilReady(started, async () => ((await redisPing(url)) ? true : undefined), 20_000);
  return { url, own: true };
}

/** A started service's definition, ready check and stop order, in one place. */
async function startAndWait(
  home: string,
  definition: ServiceDefinition,
  ready: (output: string) => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  if ((await runningService(home, definition.name)) !== undefined) return;
  const started = await startService(home, definition);
  await waitUntilReady(started, async (output) => ((await ready(output)) ? true : undefined), timeoutMs);
}

const logSays =
  (event: string) =>
  (output: string): Promise<boolean> =>
    Promise.resolve(output.includes(`"event":"${event}"`));

/** Writes the executor's node config (its progress endpoints) and returns its path. */
async function executorConfig(
  home: string,
  identity: string,
  gateways: readonly { org: string; grpcPort: number }[],
): Promise<string> {
  const file = join(home, 'nodes', `${identity.replace('/', '-')}.config.json`);
  await mkdir(join(home, 'nodes'), { recursive: true });
  const org = identity.split('/')[0] ?? '';
  await writeFile(file, `${JSON.stringify(progressSettings(gateways, org), null, 2)}\n`);
  return file;
}

export interface NodeStartOptions {
  home: string;
  root: string;
  role: NodeRole;
  identity: string;
}

/** Starts one execution or validator node detached, and waits for its `started` line. */
export async function startNode(
  options: NodeStartOptions,
): Promise<{ name: string; pid: number; logFile: string }> {
  const state = await readStackState(options.home);
  const configFile =
    options.role === 'executor'
      ? await executorConfig(options.home, options.identity, state?.gateways ?? [])
      : undefined;
  const definition = nodeDefinition(options.root, {
    home: options.home,
    role: options.role,
    identity: options.identity,
    ...(configFile === undefined ? {} : { configFile }),
  });
  await startAndWait(options.home, definition, logSays('started'), 90_000);
  const record = await runningService(options.home, definition.name);
  if (record === undefined) {
    throw new CliOperationError('UNAVAILABLE', `${definition.name} stopped right after it started`, {
      hint: `Read ${logFileOf(options.home, definition.name)}.`,
    });
  }
  return { name: definition.name, pid: record.pid, logFile: record.logFile };
}

export interface StackOptions {
  home: string;
  root: string;
  env: Readonly<Record<string, string | undefined>>;
  note: Note;
  portalPort?: number;
  rebuild?: boolean;
}

/** Whether every service recorded for the stack in `home` still runs. */
export async function stackRunning(home: string): Promise<StackState | undefined> {
  const state = await readStackState(home);
  if (state === undefined) return undefined;
  for (const name of state.services) {
    const running =
      name === DEVNET
        ? await runningDevnet(devnetFiles(home))
        : name === REDIS && !state.ownRedis
          ? true
          : await runningService(home, name);
    if (running === undefined) return undefined;
  }
  return state;
}

/**
 * Brings the whole consortium up: build, Redis, devnet, one gateway per org, executors, validators, the
 * portal. Each one is healthy before the next that needs it starts. If any fails, what was started is
 * stopped again so no half stack is left behind.
 */
export async function startStack(
  options: StackOptions,
): Promise<{ state: StackState; alreadyRunning: boolean }> {
  const { home, root, note } = options;
  const running = await stackRunning(home);
  if (running !== undefined) return { state: running, alreadyRunning: true };
  const previous = await readStackState(home);
  await ensureBuilt(root, home, note, options.rebuild === true);
  const taken = new Set<number>();
  const services: string[] = [];
  try {
    note('starting redis...');
    const redis = await ensureRedis(home, options.env, previous, taken, note);
    if (redis.own) services.push(REDIS);

    note('creating the consortium (once) and starting the devnet...');
    await createConsortium({ home });
    if ((await runningDevnet(devnetFiles(home))) === undefined)
      await startDevnetProcess(devnetFiles(home), { readyTimeoutMs: 120_000 });
    services.push(DEVNET);

    const portalPort = await choosePort(options.portalPort ?? PREFERRED_PORTS.portal, taken);
    const portalUrl = `http://127.0.0.1:${String(portalPort)}`;
    const gateways: StackState['gateways'] = [];
    for (const [index, org] of ORGS.entries()) {
      const httpPort = await choosePort(PREFERRED_PORTS.gatewayHttp + index, taken);
      const grpcPort = await choosePort(PREFERRED_PORTS.gatewayGrpc + index, taken);
      gateways.push({ org, url: `http://127.0.0.1:${String(httpPort)}`, grpcPort });
    }
    note('starting the gateways of Org1, Org2 and Org3...');
    await Promise.all(
      gateways.map(async (gateway) => {
        const definition = gatewayDefinition(root, {
          home,
          org: gateway.org,
          httpPort: Number(new URL(gateway.url).port),
          grpcPort: gateway.grpcPort,
          redisUrl: redis.url,
          // The portal proxies /api to Org1's gateway; its origin is the one browsers send.
          ...(gateway.org === 'Org1'
            ? { corsOrigins: `${portalUrl},http://localhost:${String(portalPort)}` }
            : {}),
        });
        services.push(definition.name);
        await startAndWait(
          home,
          definition,
          async () => (await httpStatus(`${gateway.url}/api/health`)) === 200,
          120_000,
        );
      }),
    );
    // The executors report progress to the gateways: record their ports before the nodes read them.
    const partial: StackState = {
      home,
      startedAt: new Date().toISOString(),
      portalUrl,
      redisUrl: redis.url,
      ownRedis: redis.own,
      gateways,
      services,
    };
    await writeStackState(partial);

    note('starting two execution nodes and two validators...');
    for (const [role, identities] of [
      ['executor', STACK_EXECUTORS],
      ['validator', STACK_VALIDATORS],
    ] as const) {
      for (const identity of identities) {
        services.push(serviceName.node(role, identity));
        await startNode({ home, root, role, identity });
      }
    }

    note('starting the portal...');
    services.push(PORTAL);
    await startAndWait(
      home,
      {
        name: PORTAL,
        command: process.execPath,
        args: [
          entryPoints(root).portalServer,
          '--root',
          join(root, 'portal', 'dist'),
          '--port',
          String(portalPort),
          '--gateway',
          gateways[0]?.url ?? '',
        ],
        env: {},
        marker: entryPoints(root).portalServer,
      },
      async () => (await httpStatus(`${portalUrl}/`)) === 200,
      30_000,
    );
    const state: StackState = { ...partial, services: [...services] };
    await writeStackState(state);
    return { state, alreadyRunning: false };
  } catch (err) {
    await stopServices(home, [...services].reverse());
    throw err;
  }
}

export interface StoppedService {
  name: string;
  pid: number;
  how: 'terminated' | 'killed' | 'gone';
}

async function stopServices(
  home: string,
  names: readonly string[],
  timeoutMs = 15_000,
): Promise<StoppedService[]> {
  const stopped: StoppedService[] = [];
  for (const name of names) {
    if (name === DEVNET) {
      const devnet = await stopDevnetProcess(devnetFiles(home), timeoutMs);
      if (devnet !== undefined) stopped.push({ name, ...devnet });
      continue;
    }
    const result = await stopService(home, name, timeoutMs);
    if (result !== undefined) stopped.push(result);
  }
  return stopped;
}

/**
 * Stops the stack in reverse start order: portal, validators, executors, gateways, devnet, Redis. Only
 * processes recorded in this home's pid files are signalled. Nodes started on their own (`decenter node
 * start`) and anything an interrupted `up` started before it recorded the stack are stopped first.
 */
export async function stopStack(home: string, timeoutMs = 15_000): Promise<StoppedService[]> {
  const state = await readStackState(home);
  const standard = [
    REDIS,
    DEVNET,
    ...ORGS.map(serviceName.gateway),
    ...STACK_EXECUTORS.map((identity) => serviceName.node('executor', identity)),
    ...STACK_VALIDATORS.map((identity) => serviceName.node('validator', identity)),
    PORTAL,
  ];
  const order = [...new Set([...standard, ...(state?.services ?? [])])].filter(
    (name) => name !== REDIS || state === undefined || state.ownRedis,
  );
  const recorded = (await readdir(runDir(home)).catch(() => [] as string[]))
    .filter((file) => file.endsWith('.pid'))
    .map((file) => file.slice(0, -'.pid'.length));
  const extra = recorded.filter((name) => !order.includes(name)).sort();
  return stopServices(home, [...extra, ...[...order].reverse()], timeoutMs);
}
