import {
  optional,
  readId,
  readInteger,
  readIsoDate,
  readEnum,
  readScalarMap,
  readString,
  strictObject,
  type ScalarValue,
} from '../validate';
import { parseParty, type Party } from './party.model';

export const TRIAL_STATUSES = ['OPEN', 'CLAIMED', 'COMMITTED', 'FAILED'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

/** One hyperparameter set and seed of a job, as planned when the job was created. */
export interface TrialPlan {
  trialId: string;
  hyperparameters: Record<string, ScalarValue>;
  seed: number;
}

/** A trial's state: who holds it, until when, and how it ended. */
export interface Trial extends TrialPlan {
  jobId: string;
  status: TrialStatus;
  claimedBy?: Party;
  claimedAt?: string;
  leaseExpiresAt?: string;
  /** Number of claims so far, reclaims after an expired lease included. */
  attempts: number;
  failureReason?: string;
  updatedAt: string;
}

export const MAX_SEED = 2 ** 31 - 1;

export function parseTrialPlan(value: unknown, path: string): TrialPlan {
  const record = strictObject(value, path, ['trialId', 'hyperparameters', 'seed']);
  return {
    trialId: readId(record.trialId, `${path}.trialId`),
    hyperparameters: readScalarMap(record.hyperparameters, `${path}.hyperparameters`),
    seed: readInteger(record.seed, `${path}.seed`, 0, MAX_SEED),
  };
}

export function parseTrial(value: unknown): Trial {
  const record = strictObject(value, 'trial', [
    'jobId',
    'trialId',
    'hyperparameters',
    'seed',
    'status',
    'claimedBy',
    'claimedAt',
    'leaseExpiresAt',
    'attempts',
    'failureReason',
    'updatedAt',
  ]);
  const plan = parseTrialPlan(
    { trialId: record.trialId, hyperparameters: record.hyperparameters, seed: record.seed },
    'trial',
  );
  return {
    ...plan,
    jobId: readId(record.jobId, 'trial.jobId'),
    status: readEnum(record.status, 'trial.status', TRIAL_STATUSES),
    claimedBy: optional(record.claimedBy, (v) => parseParty(v, 'trial.claimedBy')),
    claimedAt: optional(record.claimedAt, (v) => readIsoDate(v, 'trial.claimedAt')),
    leaseExpiresAt: optional(record.leaseExpiresAt, (v) => readIsoDate(v, 'trial.leaseExpiresAt')),
    attempts: readInteger(record.attempts, 'trial.attempts', 0, Number.MAX_SAFE_INTEGER),
    failureReason: optional(record.failureReason, (v) => readString(v, 'trial.failureReason', { max: 1024 })),
    updatedAt: readIsoDate(record.updatedAt, 'trial.updatedAt'),
  };
}
