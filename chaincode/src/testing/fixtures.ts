import { createHash } from 'node:crypto';

import { CertificateContract } from '../certificate.contract';
import { JobContract } from '../job.contract';
import { NodeContract } from '../node.contract';
import type { FakeIdentity } from './fake-identity';
import type { TestNetwork } from './test-network';

export const contracts = {
  jobs: new JobContract(),
  nodes: new NodeContract(),
  certificates: new CertificateContract(),
};

export function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A valid CreateJob argument relative to the network's clock; `overrides` replace top-level fields. */
export function jobInput(net: TestNetwork, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    jobId: 'job-1',
    name: 'iris classifier',
    specHash: sha('spec'),
    objective: { metric: 'accuracy', direction: 'maximize', minImprovement: 0 },
    trials: [
      { trialId: 't000', hyperparameters: { learningRate: 0.01, batchSize: 32, optimizer: 'adam' }, seed: 1 },
      {
        trialId: 't001',
        hyperparameters: { learningRate: 0.001, batchSize: 32, optimizer: 'adam' },
        seed: 1,
      },
    ],
    validation: { validatorOrgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'], tolerance: 0.01 },
    schedule: { trainingDeadline: net.iso(3600), validationDeadline: net.iso(7200) },
    leaseSeconds: 600,
    data: { manifestHash: sha('manifest'), merkleRoot: sha('merkle'), holdoutCommitment: sha('holdout') },
    storageUri: 'local://decenter/jobs/job-1/',
    ...overrides,
  };
}

export function candidateInput(seed: string, metrics: Record<string, number> = { accuracy: 0.9 }): string {
  return JSON.stringify({
    modelHash: sha(`model-${seed}`),
    artifactUri: `local://decenter/jobs/job-1/candidates/${seed}/model.json`,
    checkpointHashes: [sha(`ckpt-${seed}-1`), sha(`ckpt-${seed}-2`)],
    metrics,
    backend: 'wasm',
  });
}

export async function register(net: TestNetwork, ...identities: FakeIdentity[]): Promise<void> {
  for (const identity of identities) {
    await net.submit(identity, (ctx) =>
      contracts.nodes.RegisterNode(ctx, JSON.stringify({ capabilities: { backend: 'wasm' } })),
    );
  }
}

export async function createJob(
  net: TestNetwork,
  owner: FakeIdentity,
  overrides: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const json = await net.submit(owner, (ctx) =>
    contracts.jobs.CreateJob(ctx, JSON.stringify(jobInput(net, overrides))),
  );
  return JSON.parse(json) as Record<string, unknown>;
}

export async function getJob(
  net: TestNetwork,
  who: FakeIdentity,
  jobId = 'job-1',
): Promise<Record<string, unknown>> {
  return JSON.parse(await net.evaluate(who, (ctx) => contracts.jobs.GetJob(ctx, jobId))) as Record<
    string,
    unknown
  >;
}

export async function claim(
  net: TestNetwork,
  node: FakeIdentity,
  trialId: string,
  jobId = 'job-1',
): Promise<Record<string, unknown>> {
  return JSON.parse(
    await net.submit(node, (ctx) => contracts.jobs.ClaimTrial(ctx, jobId, trialId)),
  ) as Record<string, unknown>;
}

export async function commit(
  net: TestNetwork,
  node: FakeIdentity,
  trialId: string,
  jobId = 'job-1',
): Promise<Record<string, unknown>> {
  const json = await net.submit(node, (ctx) =>
    contracts.jobs.CommitCandidate(ctx, jobId, trialId, candidateInput(trialId)),
  );
  return JSON.parse(json) as Record<string, unknown>;
}

export interface ScoreEntry {
  trialId: string;
  verified: boolean;
  score?: number;
  rejectionReason?: string;
}

export async function score(
  net: TestNetwork,
  validator: FakeIdentity,
  entries: ScoreEntry[],
  jobId = 'job-1',
): Promise<unknown> {
  return JSON.parse(
    await net.submit(validator, (ctx) => contracts.jobs.SubmitScores(ctx, jobId, JSON.stringify(entries))),
  ) as unknown;
}

/** Expects the transaction to fail with the given message prefix and to leave the ledger untouched. */
export async function expectRejected(
  net: TestNetwork,
  run: () => Promise<unknown>,
  message: string | RegExp,
): Promise<void> {
  const before = net.ledger.snapshot();
  const events = net.ledger.events.length;
  await expect(run()).rejects.toThrow(message);
  expect(net.ledger.snapshot()).toEqual(before);
  expect(net.ledger.events).toHaveLength(events);
}
