import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import { parseJobSpec, planTrials, type TrialPlan } from '@decenter/core';

import { loadNetworkConfig, type CreateJobRequest, type NetworkConfig } from '../src';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const CHAINCODE_DIR = join(REPO_ROOT, 'chaincode');

/** The devnet runs the chaincode's build output; build it once if a fresh clone has none. */
export async function ensureChaincodeBuilt(): Promise<void> {
  if (existsSync(join(CHAINCODE_DIR, 'dist', 'index.js'))) return;
  await promisify(execFile)('npm', ['run', 'build', '--prefix', CHAINCODE_DIR], { timeout: 120_000 });
}

export interface TestNetwork {
  home: string;
  devnet: RunningDevnet;
  config: NetworkConfig;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A consortium in a temporary home and the devnet on a free port. Blocks wait 300 ms for more
 * transactions, so transactions sent together are endorsed before either commits.
 */
export async function startTestNetwork(): Promise<TestNetwork> {
  await ensureChaincodeBuilt();
  const home = await mkdtemp(join(tmpdir(), 'ledger-it-'));
  await createConsortium({ home });
  const start = (port = 0): Promise<RunningDevnet> =>
    startDevnet({ home, port, chaincodeDir: CHAINCODE_DIR, blockTimeoutMs: 300, log: () => undefined });
  const network: TestNetwork = {
    home,
    devnet: await start(),
    config: await loadNetworkConfig(join(home, 'network.json')),
    /** Stops the devnet and starts it again on the same port, as a crash and restart would. */
    async restart() {
      const port = Number(network.devnet.endpoint.split(':').pop());
      await network.devnet.stop();
      network.devnet = await start(port);
      network.config = await loadNetworkConfig(join(home, 'network.json'));
    },
    async stop() {
      await network.devnet.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
  return network;
}

const hex = (c: string): string => c.repeat(64);

export function jobRequest(jobId: string): CreateJobRequest {
  const spec = parseJobSpec({
    name: 'iris-mlp',
    task: 'classification',
    model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [16] } },
    data: { format: 'csv', label: 'species' },
    search: { learningRate: [0.01, 0.05], batchSize: [16], epochs: [2], optimizer: ['adam'], seeds: [1] },
    objective: { metric: 'accuracy' },
    schedule: { trainingDeadline: '2030-12-01T00:00:00Z', validationDeadline: '2030-12-02T00:00:00Z' },
  });
  const trials: TrialPlan[] = planTrials(spec);
  const now = Date.now();
  return {
    jobId,
    name: 'iris',
    specHash: hex('a'),
    objective: { metric: 'accuracy', direction: 'maximize' },
    trials,
    validation: { validatorOrgs: ['Org2MSP', 'Org3MSP'], quorum: 2 },
    schedule: {
      trainingDeadline: new Date(now + 3_600_000).toISOString(),
      validationDeadline: new Date(now + 7_200_000).toISOString(),
    },
    data: { manifestHash: hex('b'), merkleRoot: hex('c'), holdoutHash: hex('d') },
    storageUri: `local://jobs/${jobId}`,
  };
}
