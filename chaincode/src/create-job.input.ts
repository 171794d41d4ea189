import { InvalidArgumentError } from './errors';
import {
  parseJobData,
  parseObjective,
  MAX_DATA_CONTRIBUTORS,
  MAX_TRIALS,
  MAX_VALIDATOR_ORGS,
} from './models/job.model';
import type { Job } from './models/job.model';
import { parseParty } from './models/party.model';
import { parseTrialPlan } from './models/trial.model';
import {
  optional,
  readArray,
  readId,
  readInteger,
  readIsoDate,
  readNumber,
  readSha256,
  readString,
  strictObject,
} from './validate';

export const DEFAULT_LEASE_SECONDS = 900;
export const DEFAULT_TOLERANCE = 0.01;

/** What CreateJob accepts; the chaincode adds owner, status, times and the defaults. */
export type CreateJobInput = Pick<
  Job,
  | 'jobId'
  | 'name'
  | 'specHash'
  | 'objective'
  | 'trials'
  | 'schedule'
  | 'leaseSeconds'
  | 'data'
  | 'storageUri'
  | 'dataContributors'
> & { validation: { validatorOrgs?: string[]; quorum?: number; tolerance: number } };

function unique(values: string[], path: string): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value))
      throw new InvalidArgumentError(`${path} lists "${value}" twice; each entry must be unique`);
    seen.add(value);
  }
}

/** Validates CreateJob's single JSON argument strictly, against the transaction time `now`. */
export function parseCreateJobInput(value: unknown, now: string): CreateJobInput {
  const record = strictObject(value, 'job', [
    'jobId',
    'name',
    'specHash',
    'objective',
    'trials',
    'validation',
    'schedule',
    'leaseSeconds',
    'data',
    'storageUri',
    'dataContributors',
  ]);
  const trials = readArray(record.trials, 'job.trials', { min: 1, max: MAX_TRIALS }, parseTrialPlan);
  unique(
    trials.map((trial) => trial.trialId),
    'job.trials[].trialId',
  );

  const validation = strictObject(record.validation ?? {}, 'job.validation', [
    'validatorOrgs',
    'quorum',
    'tolerance',
  ]);
  const validatorOrgs = optional(validation.validatorOrgs, (v) =>
    readArray(v, 'job.validation.validatorOrgs', { min: 1, max: MAX_VALIDATOR_ORGS }, (org, path) =>
      readString(org, path, { max: 128 }),
    ),
  );
  if (validatorOrgs !== undefined) unique(validatorOrgs, 'job.validation.validatorOrgs');
  const quorum = optional(validation.quorum, (v) =>
    readInteger(v, 'job.validation.quorum', 1, MAX_VALIDATOR_ORGS),
  );
  if (validatorOrgs !== undefined && quorum !== undefined && quorum > validatorOrgs.length) {
    throw new InvalidArgumentError(
      `job.validation.quorum is ${quorum} but only ${validatorOrgs.length} validator orgs are listed; lower the quorum or list more orgs`,
    );
  }

  const schedule = strictObject(record.schedule, 'job.schedule', [
    'startAt',
    'trainingDeadline',
    'validationDeadline',
  ]);
  const startAt = optional(schedule.startAt, (v) => readIsoDate(v, 'job.schedule.startAt'));
  const trainingDeadline = readIsoDate(schedule.trainingDeadline, 'job.schedule.trainingDeadline');
  const validationDeadline = readIsoDate(schedule.validationDeadline, 'job.schedule.validationDeadline');
  if (Date.parse(trainingDeadline) <= Date.parse(now)) {
    throw new InvalidArgumentError(
      `job.schedule.trainingDeadline ${trainingDeadline} is not after the transaction time ${now}`,
    );
  }
  if (startAt !== undefined && Date.parse(startAt) >= Date.parse(trainingDeadline)) {
    throw new InvalidArgumentError('job.schedule.startAt must be before job.schedule.trainingDeadline');
  }
  if (Date.parse(validationDeadline) <= Date.parse(trainingDeadline)) {
    throw new InvalidArgumentError(
      'job.schedule.validationDeadline must be after job.schedule.trainingDeadline',
    );
  }

  const dataContributors = readArray(
    record.dataContributors ?? [],
    'job.dataContributors',
    { min: 0, max: MAX_DATA_CONTRIBUTORS },
    parseParty,
  );
  unique(
    dataContributors.map((party) => `${party.mspId}/${party.id}`),
    'job.dataContributors',
  );

  // A trailing slash would double up in certificate URIs built from this folder.
  const storageUri = readString(record.storageUri, 'job.storageUri', { max: 2048 }).replace(/\/+$/, '');
  if (storageUri === '')
    throw new InvalidArgumentError('job.storageUri must name the job folder, not just "/"');

  return {
    jobId: readId(record.jobId, 'job.jobId'),
    name: optional(record.name, (v) => readString(v, 'job.name', { max: 120 })),
    specHash: readSha256(record.specHash, 'job.specHash'),
    objective: parseObjective(record.objective, 'job.objective'),
    trials,
    validation: {
      validatorOrgs,
      quorum,
      tolerance: readNumber(validation.tolerance ?? DEFAULT_TOLERANCE, 'job.validation.tolerance', 0),
    },
    schedule: { startAt, trainingDeadline, validationDeadline },
    leaseSeconds: readInteger(record.leaseSeconds ?? DEFAULT_LEASE_SECONDS, 'job.leaseSeconds', 30, 86_400),
    data: parseJobData(record.data, 'job.data'),
    storageUri,
    dataContributors,
  };
}
