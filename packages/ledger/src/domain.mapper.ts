import {
  METRICS,
  OPTIMIZERS,
  type Actor,
  type Candidate,
  type Certificate,
  type Hyperparameters,
  type Job,
  type NodeCapabilities,
  type NodeRecord,
  type Score,
  type Selection,
  type TrainingBackend,
  type Trial,
  type TrialPlan,
} from '@decenter/core';
import { z } from 'zod';

import { LedgerIntegrityError } from './ledger.errors';
import type {
  ChaincodeCandidate,
  ChaincodeCertificate,
  ChaincodeJob,
  ChaincodeNode,
  ChaincodeScore,
  ChaincodeTrial,
  JobOutcome,
} from './ledger-records.schema';

/**
 * Maps the chaincode's records onto @decenter/core's domain types. Where the chaincode keeps more than
 * core describes (trial plans, validator orgs, outcomes), the records below carry it as extra fields;
 * where it keeps less, the field is optional here and says so.
 */

export const TRAINING_BACKENDS = [
  'tensorflow-gpu',
  'tensorflow',
  'wasm',
  'cpu',
] as const satisfies readonly TrainingBackend[];

/** The finalize transaction's id is not part of the job record; `JobsClient.getJob` looks it up. */
export type LedgerSelection = Omit<Selection, 'txId'> & { txId?: string };

export interface JobRecord extends Omit<Job, 'selected'> {
  selected?: LedgerSelection;
  trials: TrialPlan[];
  validatorOrgs: string[];
  leaseSeconds: number;
  dataContributors: Actor[];
  cancelReason?: string;
  outcome?: JobOutcome;
}

export interface TrialRecord extends Trial {
  claimedAt?: string;
  updatedAt: string;
}

/** Unverified candidates have no objective value; `mspId` is the validator org the score counts for. */
export type ScoreRecord = Omit<Score, 'objective'> & { objective?: number; mspId: string; txId: string };

export interface NodeRecordWithTimes extends NodeRecord {
  updatedAt: string;
}

/** The chaincode records neither the model hash nor the minting transaction on a certificate. */
export type CertificateRecord = Omit<Certificate, 'modelHash' | 'txId'> & {
  trialIds: string[];
  revokedBy?: Actor;
};

const hyperparametersSchema = z.looseObject({
  learningRate: z.number().positive(),
  batchSize: z.int().min(1),
  epochs: z.int().min(1),
  optimizer: z.enum(OPTIMIZERS),
});

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`,
    );
    throw new LedgerIntegrityError(
      `${what} does not match the DeCenter domain model: ${problems.join('; ')}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

function hyperparametersOf(value: Record<string, string | number | boolean>, what: string): Hyperparameters {
  const parsed = check(hyperparametersSchema, value, `${what}.hyperparameters`);
  return {
    learningRate: parsed.learningRate,
    batchSize: parsed.batchSize,
    epochs: parsed.epochs,
    optimizer: parsed.optimizer,
  };
}

function describeRule(job: ChaincodeJob): string {
  const { metric, direction, minImprovement } = job.objective;
  return `${direction} ${metric} (min improvement ${minImprovement}), quorum ${job.validation.quorum} of ${job.validation.validatorOrgs.join(', ')}`;
}

export function toJobRecord(job: ChaincodeJob, finalizeTxId?: string): JobRecord {
  const what = `job ${job.jobId}`;
  const metric = check(z.enum(METRICS), job.objective.metric, `${what}.objective.metric`);
  const winner = job.outcome?.winner;
  let selected: LedgerSelection | undefined;
  if (winner !== undefined && job.outcome !== undefined) {
    const agreeing = job.outcome.candidates.find((candidate) => candidate.trialId === winner.trialId);
    selected = {
      trialId: winner.trialId,
      modelHash: winner.modelHash,
      metrics: { [metric]: winner.score },
      rule: describeRule(job),
      agreeingOrgs: agreeing?.agreeingOrgs ?? [],
      finalizedAt: job.outcome.finalizedAt,
      ...(finalizeTxId === undefined ? {} : { txId: finalizeTxId }),
    };
  }
  const record: JobRecord = {
    jobId: job.jobId,
    name: job.name ?? job.jobId,
    owner: job.owner,
    status: job.status,
    specHash: job.specHash,
    manifestHash: job.data.manifestHash,
    merkleRoot: job.data.merkleRoot,
    holdoutHash: job.data.holdoutCommitment,
    storageUri: job.storageUri,
    objective: { metric, direction: job.objective.direction, minImprovement: job.objective.minImprovement },
    quorum: job.validation.quorum,
    tolerance: job.validation.tolerance,
    trainingDeadline: job.schedule.trainingDeadline,
    validationDeadline: job.schedule.validationDeadline,
    trialCount: job.trials.length,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    trials: job.trials.map((trial, index) => ({
      trialId: trial.trialId,
      seed: trial.seed,
      hyperparameters: hyperparametersOf(trial.hyperparameters, `${what}.trials[${index}]`),
    })),
    validatorOrgs: job.validation.validatorOrgs,
    leaseSeconds: job.leaseSeconds,
    dataContributors: job.dataContributors,
  };
  if (job.schedule.startAt !== undefined) record.startAt = job.schedule.startAt;
  if (selected !== undefined) record.selected = selected;
  if (job.outcome?.failureReason !== undefined) record.failureReason = job.outcome.failureReason;
  if (job.cancelReason !== undefined) record.cancelReason = job.cancelReason;
  if (job.outcome !== undefined) record.outcome = job.outcome;
  return record;
}

export function toTrialRecord(trial: ChaincodeTrial): TrialRecord {
  const record: TrialRecord = {
    jobId: trial.jobId,
    trialId: trial.trialId,
    hyperparameters: hyperparametersOf(trial.hyperparameters, `trial ${trial.jobId}/${trial.trialId}`),
    seed: trial.seed,
    status: trial.status,
    attempts: trial.attempts,
    updatedAt: trial.updatedAt,
  };
  if (trial.claimedBy !== undefined) record.claimedBy = trial.claimedBy;
  if (trial.claimedAt !== undefined) record.claimedAt = trial.claimedAt;
  if (trial.leaseExpiresAt !== undefined) record.leaseExpiresAt = trial.leaseExpiresAt;
  if (trial.failureReason !== undefined) record.failureReason = trial.failureReason;
  return record;
}

export function toCandidate(candidate: ChaincodeCandidate): Candidate {
  return {
    jobId: candidate.jobId,
    trialId: candidate.trialId,
    node: candidate.node,
    modelHash: candidate.modelHash,
    artifactUri: candidate.artifactUri,
    checkpointHashes: candidate.checkpointHashes,
    backend: check(
      z.enum(TRAINING_BACKENDS),
      candidate.backend,
      `candidate ${candidate.jobId}/${candidate.trialId}.backend`,
    ),
    metrics: candidate.metrics,
    committedAt: candidate.committedAt,
    txId: candidate.txId,
  };
}

export function toScoreRecord(score: ChaincodeScore): ScoreRecord {
  const record: ScoreRecord = {
    jobId: score.jobId,
    trialId: score.trialId,
    validator: score.validator,
    mspId: score.mspId,
    verified: score.verified,
    metrics: score.metrics ?? {},
    submittedAt: score.submittedAt,
    txId: score.txId,
  };
  if (score.score !== undefined) record.objective = score.score;
  if (score.rejectionReason !== undefined) record.rejectionReason = score.rejectionReason;
  return record;
}

/**
 * The chaincode keeps capabilities as a flat map of scalars, so lists travel as comma-separated text.
 * This module is the only place that writes or reads that encoding.
 */
export function encodeCapabilities(capabilities: NodeCapabilities): Record<string, string | number> {
  const flat: Record<string, string | number> = {
    cores: capabilities.cores,
    memoryMiB: capabilities.memoryMiB,
    backends: capabilities.backends.join(','),
  };
  const accepts = capabilities.accepts;
  if (accepts?.orgs !== undefined) flat['acceptsOrgs'] = accepts.orgs.join(',');
  if (accepts?.maxDataBytes !== undefined) flat['maxDataBytes'] = accepts.maxDataBytes;
  if (accepts?.maxModelParameters !== undefined) flat['maxModelParameters'] = accepts.maxModelParameters;
  return flat;
}

const list = (text: string): string[] => (text === '' ? [] : text.split(','));

const flatCapabilitiesSchema = z.looseObject({
  cores: z.int().min(0),
  memoryMiB: z.number().min(0),
  backends: z.string(),
  acceptsOrgs: z.string().optional(),
  maxDataBytes: z.number().min(0).optional(),
  maxModelParameters: z.number().min(0).optional(),
});

export function decodeCapabilities(
  flat: Record<string, string | number | boolean>,
  what: string,
): NodeCapabilities {
  const parsed = check(flatCapabilitiesSchema, flat, `${what}.capabilities`);
  const capabilities: NodeCapabilities = {
    cores: parsed.cores,
    memoryMiB: parsed.memoryMiB,
    backends: check(
      z.array(z.enum(TRAINING_BACKENDS)),
      list(parsed.backends),
      `${what}.capabilities.backends`,
    ),
  };
  if (
    parsed.acceptsOrgs !== undefined ||
    parsed.maxDataBytes !== undefined ||
    parsed.maxModelParameters !== undefined
  ) {
    capabilities.accepts = {};
    if (parsed.acceptsOrgs !== undefined) capabilities.accepts.orgs = list(parsed.acceptsOrgs);
    if (parsed.maxDataBytes !== undefined) capabilities.accepts.maxDataBytes = parsed.maxDataBytes;
    if (parsed.maxModelParameters !== undefined)
      capabilities.accepts.maxModelParameters = parsed.maxModelParameters;
  }
  return capabilities;
}

export function toNodeRecord(node: ChaincodeNode): NodeRecordWithTimes {
  return {
    node: { mspId: node.mspId, id: node.nodeId },
    role: node.role,
    capabilities: decodeCapabilities(node.capabilities, `node ${node.nodeId}`),
    registeredAt: node.registeredAt,
    updatedAt: node.updatedAt,
    completed: node.completed,
    failed: node.failed,
    rejected: node.rejected,
  };
}

export function toCertificateRecord(certificate: ChaincodeCertificate): CertificateRecord {
  const record: CertificateRecord = {
    tokenId: certificate.tokenId,
    owner: certificate.holder,
    role: certificate.role,
    jobId: certificate.jobId,
    tokenUri: certificate.tokenUri,
    issuer: certificate.issuer,
    issuedAt: certificate.mintedAt,
    revoked: certificate.revoked,
    trialIds: certificate.trialIds,
  };
  if (certificate.revokedAt !== undefined) record.revokedAt = certificate.revokedAt;
  if (certificate.revocationReason !== undefined) record.revokedReason = certificate.revocationReason;
  if (certificate.revokedBy !== undefined) record.revokedBy = certificate.revokedBy;
  return record;
}
