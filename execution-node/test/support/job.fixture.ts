import { planTrials, parseJobSpec, type JobSpecInput, type TrialPlan } from '@decenter/core';
import type { JobsClient } from '@decenter/ledger';
import {
  flipByte,
  holdoutHash,
  recordJob,
  storeIrisData,
} from '@decenter/system-tests/support/iris-job.fixture';

export const IRIS_SPEC: JobSpecInput = {
  name: 'iris-mlp',
  task: 'classification',
  model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [8] } },
  data: { format: 'csv', label: 'species' },
  search: { learningRate: [0.05, 0.1], batchSize: [16], epochs: [3], optimizer: ['adam'], seeds: [1, 2] },
  objective: { metric: 'accuracy' },
  schedule: { trainingDeadline: '2099-01-01T00:00:00Z', validationDeadline: '2099-01-02T00:00:00Z' },
};

export interface StoredJob {
  jobId: string;
  trials: TrialPlan[];
  /** Path on disk of the stored train object (to tamper with it). */
  trainFile: string;
  holdoutDigest: string;
}

export interface CreateJobOptions {
  jobId: string;
  /** The spec as stored; not validated here, so a hostile spec can reach the ledger as a real attacker's would. */
  spec: unknown;
  /** Default: the trials the spec plans. */
  trials?: TrialPlan[];
  leaseSeconds?: number;
  owner: { mspId: string; id: string };
  /** Another interleaving of the rows (coprime with 150), so the data (and its digests) differ from other jobs'. */
  stride?: number;
  /** Changes a byte of the stored train data after the manifest recorded its digest, before CreateJob. */
  tamper?: boolean;
  /** A pre-trained model's files (model.json and weights), stored as the gateway does: `pretrained/<name>`. */
  pretrained?: Record<string, Buffer>;
}

/**
 * Stores a job's data the way the gateway's ingest does and records it with CreateJob: validated by Org1
 * and Org2 (either suffices) with a short lease, so the executors' tests see expired claims quickly.
 */
export async function createStoredJob(
  storageDir: string,
  jobs: JobsClient,
  options: CreateJobOptions,
): Promise<StoredJob> {
  const data = await storeIrisData(storageDir, {
    jobId: options.jobId,
    spec: options.spec,
    owner: options.owner,
    stride: options.stride,
    pretrained: options.pretrained,
  });
  if (options.tamper === true) await flipByte(data.trainFile, 100);
  const trials = options.trials ?? planTrials(parseJobSpec(options.spec));
  await recordJob(jobs, data, {
    trials,
    validation: { validatorOrgs: ['Org1MSP', 'Org2MSP'], quorum: 1 },
    leaseSeconds: options.leaseSeconds ?? 30,
  });
  return { jobId: options.jobId, trials, trainFile: data.trainFile, holdoutDigest: holdoutHash(data) };
}
