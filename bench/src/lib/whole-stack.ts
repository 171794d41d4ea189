import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { repoRoot } from './machine';
import { ManagedProcess, sleep } from './processes';
import {
  registerValidators,
  startDevnetProcess,
  startGatewayProcess,
  startRedis,
  type GatewayProcess,
  type StartedProcess,
} from './stack';

/**
 * The consortium as `decenter up` lays it out (Redis, the devnet, a gateway per org, executors of Org1
 * and Org2, validators of Org2 and Org3), started by the benchmark itself on free ports. `decenter up`
 * binds the devnet to the fixed port 7051, so it cannot run beside a teammate's stack on a shared
 * machine; this one can, and it stops by itself.
 */
export interface WholeStack {
  home: string;
  org: string;
  /** The Org1 gateway, where the benchmark's users sign in. */
  url: string;
  gateways: GatewayProcess[];
  users: { username: string; password: string }[];
  stop(): Promise<void>;
}

export const EXECUTORS = ['Org1/executor1', 'Org2/executor1'];
export const VALIDATORS = ['Org2/validator1', 'Org3/validator1'];

export async function startWholeStack(
  home: string,
  gatewayEnv: Record<string, string> = {},
): Promise<WholeStack> {
  const root = repoRoot();
  await mkdir(home, { recursive: true });
  const started: StartedProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // Reverse start order: nodes, gateways, devnet, Redis.
    for (const piece of started.reverse()) await piece.stop();
  };
  try {
    const redis = await startRedis(path.join(home, 'redis'));
    started.push(redis);
    started.push(await startDevnetProcess(home));
    await registerValidators(home);
    const gateways: GatewayProcess[] = [];
    for (const org of ['Org1', 'Org2', 'Org3']) {
      const gateway = await startGatewayProcess(home, org, redis.url, gatewayEnv);
      gateways.push(gateway);
      started.push(gateway);
    }
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? home,
      DECENTER_HOME: home,
    };
    const nodes: ManagedProcess[] = [];
    for (const identity of EXECUTORS) {
      const configFile = path.join(home, `${identity.replace('/', '-')}.node.json`);
      await writeFile(configFile, JSON.stringify({ concurrency: 1, pollSeconds: 2 }));
      const main = path.join(root, 'execution-node', 'dist', 'src', 'main.js');
      nodes.push(
        ManagedProcess.start(
          identity,
          process.execPath,
          [main, '--identity', identity, '--home', home, '--config', configFile],
          {
            env,
            logFile: path.join(home, `${identity.replace('/', '-')}.log`),
          },
        ),
      );
    }
    for (const identity of VALIDATORS) {
      const main = path.join(root, 'validator-node', 'dist', 'src', 'main.js');
      nodes.push(
        ManagedProcess.start(
          identity,
          process.execPath,
          [main, '--identity', identity, '--home', home, '--poll-seconds', '2'],
          {
            env,
            logFile: path.join(home, `${identity.replace('/', '-')}.log`),
          },
        ),
      );
    }
    for (const node of nodes) started.push({ process: node, stop: () => node.stop() });
    // Nodes log {"event":"started"} once they follow the ledger.
    for (const node of nodes) await node.waitFor('started', () => node.hasOutput('"started"'), 180_000);
    await sleep(500);
    const org1 = gateways[0];
    if (org1 === undefined) throw new Error('no Org1 gateway');
    const file = JSON.parse(await readFile(path.join(home, 'Org1', 'users.json'), 'utf8')) as {
      users: { username: string; initialPassword?: string }[];
    };
    const users = file.users.flatMap((user) =>
      user.initialPassword === undefined ? [] : [{ username: user.username, password: user.initialPassword }],
    );
    return { home, org: 'Org1', url: org1.url, gateways, users, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
