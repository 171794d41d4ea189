import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import type { JobSpecInput, TrialPlan } from '@decenter/core';
import type { CommitCandidateRequest, JobsClient } from '@decenter/ledger';
import { LocalDiskBackend, type ReadPolicy } from '@decenter/storage';
import { BUCKET, recordJob, storeIrisData } from '@decenter/system-tests/support/iris-job.fixture';
import { killNode, spawnNode, type NodeProcess } from '@decenter/system-tests/support/node.process';

import type { TrainedCandidate } from './candidate.fixture';

const MAIN = path.join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface StoredJobOptions {
  jobId: string;
  spec: JobSpecInput;
  trials: TrialPlan[];
  owner: { mspId: string; id: string };
  validation: { validatorOrgs: string[]; quorum: number; tolerance: number };
  /** Milliseconds from now to the training deadline (default an hour). */
  trainingMs?: number;
  /** A pre-trained model's files (model.json and weights), stored as the gateway does: `pretrained/<name>`. */
  pretrained?: Record<string, Buffer>;
}

/**
 * Stores a job's data the way the gateway's ingest does and records it with CreateJob, with a lease long
 * enough that no claim expires while a test commits its candidates by hand.
 */
export async function createStoredJob(
  storageDir: string,
  jobs: JobsClient,
  options: StoredJobOptions,
): Promise<void> {
  const data = await storeIrisData(storageDir, {
    jobId: options.jobId,
    spec: options.spec,
    owner: options.owner,
    pretrained: options.pretrained,
  });
  await recordJob(jobs, data, {
    trials: options.trials,
    validation: options.validation,
    leaseSeconds: 600,
    trainingMs: options.trainingMs,
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else out.push(full);
  }
  return out.sort();
}

/** Uploads a trained candidate as the execution node does and commits it with the given model hash. */
export async function commitCandidate(
  storageDir: string,
  executor: JobsClient,
  options: {
    jobId: string;
    trialId: string;
    owner: { mspId: string; id: string };
    candidate: TrainedCandidate;
    backend: CommitCandidateRequest['backend'];
    modelHash?: string;
  },
): Promise<void> {
  const backend = new LocalDiskBackend(storageDir);
  const policy: ReadPolicy = {
    owner: options.owner,
    readers: [
      { kind: 'role', role: 'validator' },
      { kind: 'org', mspId: options.owner.mspId },
    ],
  };
  const base = `jobs/${options.jobId}/candidates/${options.trialId}`;
  for (const file of await listFiles(options.candidate.dir)) {
    const key = `${base}/${path.relative(options.candidate.dir, file).split(path.sep).join('/')}`;
    await backend.putObject(BUCKET, key, createReadStream(file), { policy });
  }
  await executor.claimTrial(options.jobId, options.trialId);
  await executor.commitCandidate(options.jobId, options.trialId, {
    modelHash: options.modelHash ?? options.candidate.modelHash,
    artifactUri: `local://${BUCKET}/${base}/model/`,
    checkpointHashes: options.candidate.checkpointHashes,
    metrics: options.candidate.metrics,
    backend: options.backend,
  });
}

/** A validator node started as its own process, as `decenter node start --role validator` does. */
export type ValidatorProcess = NodeProcess;

export function startValidator(home: string, identity: string): ValidatorProcess {
  return spawnNode(MAIN, identity, ['--home', home, '--poll-seconds', '1'], { stdout: true });
}

export const killValidator = killNode;
