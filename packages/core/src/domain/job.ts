import type { Metric } from '../spec/job-spec.schema';
import type { Hyperparameters } from '../spec/trials';
import type { Actor } from './identity';

export const JOB_STATUSES = ['OPEN', 'TRAINING', 'VALIDATING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export const TRIAL_STATUSES = ['OPEN', 'CLAIMED', 'COMMITTED', 'FAILED'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

export type TrainingBackend = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** A job as the ledger records it: hashes and plans, never data. */
export interface Job {
  jobId: string;
  name: string;
  owner: Actor;
  status: JobStatus;
  specHash: string;
  /** SHA-256 of metadata.json and the Merkle root over every stored part. */
  manifestHash: string;
  merkleRoot: string;
  /** SHA-256 of the sealed holdout, fixed when the job is created. */
  holdoutHash: string;
  /** Storage location of the job's folder (bucket/prefix). */
  storageUri: string;
  objective: { metric: Metric; direction: 'maximize' | 'minimize'; minImprovement: number };
  quorum: number;
  tolerance: number;
  startAt?: string;
  trainingDeadline: string;
  validationDeadline: string;
  trialCount: number;
  createdAt: string;
  updatedAt: string;
  selected?: Selection;
  failureReason?: string;
}

export interface Trial {
  jobId: string;
  trialId: string;
  hyperparameters: Hyperparameters;
  seed: number;
  status: TrialStatus;
  claimedBy?: Actor;
  leaseExpiresAt?: string;
  attempts: number;
  failureReason?: string;
}

/** Metrics as reported or scored: metric name to value. */
export type Metrics = Partial<Record<Metric, number>> & Record<string, number>;

export interface Candidate {
  jobId: string;
  trialId: string;
  node: Actor;
  modelHash: string;
  artifactUri: string;
  checkpointHashes: string[];
  backend: TrainingBackend;
  metrics: Metrics;
  committedAt: string;
  txId: string;
}

export interface Score {
  jobId: string;
  trialId: string;
  validator: Actor;
  verified: boolean;
  rejectionReason?: string;
  metrics: Metrics;
  /** The job objective's value on the holdout. */
  objective: number;
  submittedAt: string;
}

export interface Selection {
  trialId: string;
  modelHash: string;
  metrics: Metrics;
  rule: string;
  agreeingOrgs: string[];
  txId: string;
  finalizedAt: string;
}
