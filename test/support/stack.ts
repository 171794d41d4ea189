import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { NotFoundError } from '@decenter/ledger';

import { startSystemNetwork, registerNodes, type SystemNetwork } from './devnet';
import { startGateway, type GatewayProcess } from './gateway.process';
import { startRedis, type RedisServer } from './processes';

/** The devnet, a private Redis and one gateway process per org, all on loopback. */
export interface Stack {
  network: SystemNetwork;
  redis: RedisServer;
  gateways: Record<string, GatewayProcess>;
  stop(): Promise<void>;
}

export async function startStack(orgs: readonly string[], env: Record<string, string> = {}): Promise<Stack> {
  const network = await startSystemNetwork();
  // CreateJob needs validator orgs: the validators of Org2 and Org3 register as their nodes would.
  await registerNodes(network, ['Org2/validator1', 'Org3/validator1']);
  const redis = await startRedis();
  const gateways: Record<string, GatewayProcess> = {};
  const stack: Stack = {
    network,
    redis,
    gateways,
    async stop() {
      for (const gateway of Object.values(gateways)) await gateway.process.stop();
      await redis.process.stop();
      await network.stop();
    },
  };
  try {
    for (const org of orgs) {
      const storageDir = join(network.home, `storage-${org}`);
      await mkdir(storageDir, { recursive: true });
      gateways[org] = await startGateway({ home: network.home, org, redisUrl: redis.url, storageDir, env });
    }
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

/** Every file under `dir` whose path mentions `jobId`: what a job left behind in storage. */
export async function filesOfJob(dir: string, jobId: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => path.includes(jobId));
}

/** True when the ledger has no record of the job. */
export async function absentFromLedger(network: SystemNetwork, jobId: string): Promise<boolean> {
  const jobs = await network.jobs('Org1/user1');
  return jobs.getJob(jobId).then(
    () => false,
    (err: unknown) => {
      if (err instanceof NotFoundError) return true;
      throw err;
    },
  );
}
