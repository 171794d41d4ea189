import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { parseJobSpec, planTrials } from '@decenter/core';
import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import {
  getChainInfo,
  JobsClient,
  LedgerConnection,
  loadNetworkConfig,
  NodesClient,
  type CreateJobRequest,
  type NetworkConfig,
  type NetworkIdentity,
} from '@decenter/ledger';

export const REPO_ROOT = join(__dirname, '..', '..');
export const CHAINCODE_DIR = join(REPO_ROOT, 'chaincode');

/** The devnet runs the chaincode's build output; build it once when a fresh clone has none. */
export async function ensureChaincodeBuilt(): Promise<void> {
  if (existsSync(join(CHAINCODE_DIR, 'dist', 'index.js'))) return;
  await promisify(execFile)('npm', ['run', 'build', '--prefix', CHAINCODE_DIR], { timeout: 180_000 });
}

export interface SystemNetwork {
  home: string;
  devnet: RunningDevnet;
  config: NetworkConfig;
  /** A connection per identity name (`Org1/user1`), opened once and closed by `stop`. */
  connect(identity: string | NetworkIdentity): Promise<LedgerConnection>;
  jobs(identity: string | NetworkIdentity): Promise<JobsClient>;
  /** Chain height as the peer reports it. */
  height(): Promise<bigint>;
  stop(): Promise<void>;
}

/** A fresh dev consortium (Org1..Org3) in a temporary home and the devnet on a free loopback port. */
export async function startSystemNetwork(blockTimeoutMs = 50): Promise<SystemNetwork> {
  await ensureChaincodeBuilt();
  const home = await mkdtemp(join(tmpdir(), 'decenter-sys-'));
  await createConsortium({ home });
  const devnet = await startDevnet({
    home,
    port: 0,
    chaincodeDir: CHAINCODE_DIR,
    blockTimeoutMs,
    log: () => undefined,
  });
  const config = await loadNetworkConfig(join(home, 'network.json'));
  const connections = new Map<string, LedgerConnection>();
  const connect = async (identity: string | NetworkIdentity): Promise<LedgerConnection> => {
    const key = typeof identity === 'string' ? identity : identity.cert;
    const existing = connections.get(key);
    if (existing) return existing;
    const connection = await LedgerConnection.open({ config, identity });
    connections.set(key, connection);
    return connection;
  };
  return {
    home,
    devnet,
    config,
    connect,
    jobs: async (identity) => new JobsClient(await connect(identity)),
    height: async () => (await getChainInfo(await connect('Org1/user1'))).height,
    async stop() {
      for (const connection of connections.values()) connection.close();
      await devnet.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

const CAPABILITIES = { cores: 2, memoryMiB: 2048, backends: ['wasm' as const, 'cpu' as const] };

/** Registers the named executor and validator identities as nodes, as their processes do at start. */
export async function registerNodes(network: SystemNetwork, identities: readonly string[]): Promise<void> {
  for (const identity of identities) {
    await new NodesClient(await network.connect(identity)).registerNode(CAPABILITIES);
  }
}

const hex = (c: string): string => c.repeat(64);

/** A CreateJob request with `trialCount` trials (one learning rate each), deadlines an hour out. */
export function jobRequest(
  jobId: string,
  options: { trialCount?: number; validatorOrgs?: string[]; quorum?: number; leaseSeconds?: number } = {},
): CreateJobRequest {
  const rates = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08].slice(0, options.trialCount ?? 1);
  const spec = parseJobSpec({
    name: 'iris-mlp',
    task: 'classification',
    model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [8] } },
    data: { format: 'csv', label: 'species' },
    search: { learningRate: rates, batchSize: [16], epochs: [1], optimizer: ['adam'], seeds: [1] },
    objective: { metric: 'accuracy' },
    schedule: { trainingDeadline: '2030-12-01T00:00:00Z', validationDeadline: '2030-12-02T00:00:00Z' },
  });
  const now = Date.now();
  const request: CreateJobRequest = {
    jobId,
    name: jobId,
    specHash: hex('a'),
    objective: { metric: 'accuracy', direction: 'maximize' },
    trials: planTrials(spec),
    validation: {
      validatorOrgs: options.validatorOrgs ?? ['Org2MSP', 'Org3MSP'],
      quorum: options.quorum ?? 2,
    },
    schedule: {
      trainingDeadline: new Date(now + 3_600_000).toISOString(),
      validationDeadline: new Date(now + 7_200_000).toISOString(),
    },
    data: { manifestHash: hex('b'), merkleRoot: hex('c'), holdoutHash: hex('d') },
    storageUri: `local://jobs/${jobId}`,
  };
  if (options.leaseSeconds !== undefined) request.leaseSeconds = options.leaseSeconds;
  return request;
}

export const candidate = (seed: string) =>
  ({
    modelHash: seed.repeat(64).slice(0, 64),
    artifactUri: `local://candidates/${seed}/model.json`,
    metrics: { accuracy: 0.9 },
    backend: 'wasm',
  }) as const;
