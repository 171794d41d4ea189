import {
  optional,
  readArray,
  readBoolean,
  readEnum,
  readId,
  readInteger,
  readIsoDate,
  readNumber,
  readSha256,
  readString,
  strictObject,
} from '../validate';
import { parseParty, type Party } from './party.model';
import { parseTrialPlan, type TrialPlan } from './trial.model';

export const JOB_STATUSES = ['OPEN', 'TRAINING', 'VALIDATING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export const DIRECTIONS = ['maximize', 'minimize'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const MAX_TRIALS = 256;
export const MAX_VALIDATOR_ORGS = 64;
export const MAX_DATA_CONTRIBUTORS = 100;

export interface Objective {
  metric: string;
  direction: Direction;
  /** A later candidate must beat the best so far by at least this much to replace it. */
  minImprovement: number;
}

export interface ValidationRule {
  /** Organizations whose validators score this job's candidates. */
  validatorOrgs: string[];
  /** How many of those organizations must agree on a candidate's verdict. */
  quorum: number;
  /** Largest score difference between organizations that still counts as agreement. */
  tolerance: number;
}

export interface Schedule {
  startAt?: string;
  trainingDeadline: string;
  validationDeadline: string;
}

export interface JobData {
  manifestHash: string;
  merkleRoot: string;
  /** Hash of the sealed holdout: validators check the holdout they fetch against it. */
  holdoutCommitment: string;
}

export const CANDIDATE_VERDICTS = ['valid', 'rejected', 'no-quorum'] as const;
export type CandidateVerdict = (typeof CANDIDATE_VERDICTS)[number];

export interface CandidateOutcome {
  trialId: string;
  node: Party;
  committedAt: string;
  verdict: CandidateVerdict;
  /** The agreed score (median of the agreeing organizations' scores); valid candidates only. */
  score?: number;
  agreeingOrgs: string[];
  rejectionReasons: string[];
}

/** An organization whose verdict or score on a candidate differed from the agreed one beyond the tolerance. */
export interface Disagreement {
  trialId: string;
  mspId: string;
  verified: boolean;
  score?: number;
  agreedScore?: number;
}

export interface Winner {
  trialId: string;
  node: Party;
  modelHash: string;
  artifactUri: string;
  score: number;
}

export interface JobOutcome {
  finalizedAt: string;
  winner?: Winner;
  candidates: CandidateOutcome[];
  disagreements: Disagreement[];
  certificateIds: string[];
  failureReason?: string;
}

export interface Job {
  jobId: string;
  name?: string;
  owner: Party;
  specHash: string;
  objective: Objective;
  trials: TrialPlan[];
  validation: ValidationRule;
  schedule: Schedule;
  /** How long a claim holds a trial before another node may take it over. */
  leaseSeconds: number;
  data: JobData;
  /** Folder of the job in object storage (certificate metadata lives under it). */
  storageUri: string;
  dataContributors: Party[];
  status: JobStatus;
  createdAt: string;
  updatedAt: string;
  cancelReason?: string;
  outcome?: JobOutcome;
}

export function parseObjective(value: unknown, path: string): Objective {
  const record = strictObject(value, path, ['metric', 'direction', 'minImprovement']);
  return {
    metric: readString(record.metric, `${path}.metric`, { max: 64 }),
    direction: readEnum(record.direction, `${path}.direction`, DIRECTIONS),
    minImprovement: readNumber(record.minImprovement ?? 0, `${path}.minImprovement`, 0),
  };
}

export function parseJobData(value: unknown, path: string): JobData {
  const record = strictObject(value, path, ['manifestHash', 'merkleRoot', 'holdoutCommitment']);
  return {
    manifestHash: readSha256(record.manifestHash, `${path}.manifestHash`),
    merkleRoot: readSha256(record.merkleRoot, `${path}.merkleRoot`),
    holdoutCommitment: readSha256(record.holdoutCommitment, `${path}.holdoutCommitment`),
  };
}

function parseSchedule(value: unknown, path: string): Schedule {
  const record = strictObject(value, path, ['startAt', 'trainingDeadline', 'validationDeadline']);
  return {
    startAt: optional(record.startAt, (v) => readIsoDate(v, `${path}.startAt`)),
    trainingDeadline: readIsoDate(record.trainingDeadline, `${path}.trainingDeadline`),
    validationDeadline: readIsoDate(record.validationDeadline, `${path}.validationDeadline`),
  };
}

const mspIdOf = (v: unknown, path: string): string => readString(v, path, { max: 128 });

function parseCandidateOutcome(value: unknown, path: string): CandidateOutcome {
  const record = strictObject(value, path, [
    'trialId',
    'node',
    'committedAt',
    'verdict',
    'score',
    'agreeingOrgs',
    'rejectionReasons',
  ]);
  return {
    trialId: readId(record.trialId, `${path}.trialId`),
    node: parseParty(record.node, `${path}.node`),
    committedAt: readIsoDate(record.committedAt, `${path}.committedAt`),
    verdict: readEnum(record.verdict, `${path}.verdict`, CANDIDATE_VERDICTS),
    score: optional(record.score, (v) => readNumber(v, `${path}.score`)),
    agreeingOrgs: readArray(
      record.agreeingOrgs,
      `${path}.agreeingOrgs`,
      { min: 0, max: MAX_VALIDATOR_ORGS },
      mspIdOf,
    ),
    rejectionReasons: readArray(
      record.rejectionReasons,
      `${path}.rejectionReasons`,
      { min: 0, max: 64 },
      (v, p) => readString(v, p, { max: 1024 }),
    ),
  };
}

function parseDisagreement(value: unknown, path: string): Disagreement {
  const record = strictObject(value, path, ['trialId', 'mspId', 'verified', 'score', 'agreedScore']);
  return {
    trialId: readId(record.trialId, `${path}.trialId`),
    mspId: mspIdOf(record.mspId, `${path}.mspId`),
    verified: readBoolean(record.verified, `${path}.verified`),
    score: optional(record.score, (v) => readNumber(v, `${path}.score`)),
    agreedScore: optional(record.agreedScore, (v) => readNumber(v, `${path}.agreedScore`)),
  };
}

function parseOutcome(value: unknown, path: string): JobOutcome {
  const record = strictObject(value, path, [
    'finalizedAt',
    'winner',
    'candidates',
    'disagreements',
    'certificateIds',
    'failureReason',
  ]);
  return {
    finalizedAt: readIsoDate(record.finalizedAt, `${path}.finalizedAt`),
    winner: optional(record.winner, (v) => {
      const winner = strictObject(v, `${path}.winner`, [
        'trialId',
        'node',
        'modelHash',
        'artifactUri',
        'score',
      ]);
      return {
        trialId: readId(winner.trialId, `${path}.winner.trialId`),
        node: parseParty(winner.node, `${path}.winner.node`),
        modelHash: readSha256(winner.modelHash, `${path}.winner.modelHash`),
        artifactUri: readString(winner.artifactUri, `${path}.winner.artifactUri`, { max: 2048 }),
        score: readNumber(winner.score, `${path}.winner.score`),
      };
    }),
    candidates: readArray(
      record.candidates,
      `${path}.candidates`,
      { min: 0, max: MAX_TRIALS },
      parseCandidateOutcome,
    ),
    disagreements: readArray(
      record.disagreements,
      `${path}.disagreements`,
      { min: 0, max: MAX_TRIALS * MAX_VALIDATOR_ORGS },
      parseDisagreement,
    ),
    certificateIds: readArray(
      record.certificateIds,
      `${path}.certificateIds`,
      { min: 0, max: 1000 },
      (v, p) => readString(v, p, { max: 256 }),
    ),
    failureReason: optional(record.failureReason, (v) =>
      readString(v, `${path}.failureReason`, { max: 1024 }),
    ),
  };
}

export function parseJob(value: unknown): Job {
  const record = strictObject(value, 'job', [
    'jobId',
    'name',
    'owner',
    'specHash',
    'objective',
    'trials',
    'validation',
    'schedule',
    'leaseSeconds',
    'data',
    'storageUri',
    'dataContributors',
    'status',
    'createdAt',
    'updatedAt',
    'cancelReason',
    'outcome',
  ]);
  const validation = strictObject(record.validation, 'job.validation', [
    'validatorOrgs',
    'quorum',
    'tolerance',
  ]);
  return {
    jobId: readId(record.jobId, 'job.jobId'),
    name: optional(record.name, (v) => readString(v, 'job.name', { max: 120 })),
    owner: parseParty(record.owner, 'job.owner'),
    specHash: readSha256(record.specHash, 'job.specHash'),
    objective: parseObjective(record.objective, 'job.objective'),
    trials: readArray(record.trials, 'job.trials', { min: 1, max: MAX_TRIALS }, parseTrialPlan),
    validation: {
      validatorOrgs: readArray(
        validation.validatorOrgs,
        'job.validation.validatorOrgs',
        { min: 1, max: MAX_VALIDATOR_ORGS },
        mspIdOf,
      ),
      quorum: readInteger(validation.quorum, 'job.validation.quorum', 1, MAX_VALIDATOR_ORGS),
      tolerance: readNumber(validation.tolerance, 'job.validation.tolerance', 0),
    },
    schedule: parseSchedule(record.schedule, 'job.schedule'),
    leaseSeconds: readInteger(record.leaseSeconds, 'job.leaseSeconds', 1, 7 * 86_400),
    data: parseJobData(record.data, 'job.data'),
    storageUri: readString(record.storageUri, 'job.storageUri', { max: 2048 }),
    dataContributors: readArray(
      record.dataContributors,
      'job.dataContributors',
      { min: 0, max: MAX_DATA_CONTRIBUTORS },
      parseParty,
    ),
    status: readEnum(record.status, 'job.status', JOB_STATUSES),
    createdAt: readIsoDate(record.createdAt, 'job.createdAt'),
    updatedAt: readIsoDate(record.updatedAt, 'job.updatedAt'),
    cancelReason: optional(record.cancelReason, (v) => readString(v, 'job.cancelReason', { max: 1024 })),
    outcome: optional(record.outcome, (v) => parseOutcome(v, 'job.outcome')),
  };
}
