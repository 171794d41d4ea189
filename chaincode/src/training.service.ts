import type { Context } from 'fabric-contract-api';

import { EVENT, emit } from './events';
import { AccessDeniedError, InvalidStateError } from './errors';
import { asParty, requireRole, type Caller } from './identity';
import { countSettled } from './job-progress.store';
import { candidateKey, listTrials, loadJob, loadTrial, saveJob, saveTrial } from './job.store';
import { writeValue } from './state';
import { MAX_CHECKPOINTS, type Candidate } from './models/candidate.model';
import type { Job, JobStatus } from './models/job.model';
import { sameParty } from './models/party.model';
import type { Trial } from './models/trial.model';
import { countOutcome, requireRegisteredNode } from './node.store';
import { isoPlusSeconds, txTimeIso } from './tx-time';
import { readArray, readNumberMap, readSha256, readString, strictObject } from './validate';

/** Claiming, renewing, failing and committing trials: the TRAINING phase of a job. */

function requireTrainingOpen(job: Job, now: string, action: string): void {
  if (job.status !== 'OPEN' && job.status !== 'TRAINING') {
    throw new InvalidStateError(
      `cannot ${action}: job "${job.jobId}" is ${job.status}, and trials can only change while it trains`,
    );
  }
  if (now >= job.schedule.trainingDeadline) {
    throw new InvalidStateError(
      `cannot ${action}: the training deadline of job "${job.jobId}" (${job.schedule.trainingDeadline}) has passed`,
    );
  }
}

function isClaimable(trial: Trial, now: string): boolean {
  return trial.status === 'OPEN' || (trial.status === 'CLAIMED' && (trial.leaseExpiresAt ?? '') <= now);
}

function requireHolder(trial: Trial, caller: Caller, action: string): void {
  if (trial.status !== 'CLAIMED') {
    throw new InvalidStateError(
      `${action} needs trial "${trial.trialId}" to be CLAIMED, but it is ${trial.status}; claim it first with ClaimTrial`,
    );
  }
  if (trial.claimedBy === undefined || !sameParty(trial.claimedBy, caller)) {
    throw new AccessDeniedError(
      `${action} is reserved to the node that claimed trial "${trial.trialId}"; claim a free trial with ClaimTrial`,
    );
  }
}

/**
 * Only a holder whose lease still runs may hand the trial back: once it expired, the trial is
 * claimable by anyone already, and another node may be taking it over in a concurrent transaction.
 */
function requireLeaseHeld(trial: Trial, now: string, action: string): void {
  if ((trial.leaseExpiresAt ?? '') <= now) {
    throw new InvalidStateError(
      `cannot ${action} trial "${trial.trialId}": your lease expired at ${trial.leaseExpiresAt ?? '?'} and it is free to claim already`,
    );
  }
}

/** Moves OPEN to TRAINING, writing the job only if its status changes. */
async function markTraining(ctx: Context, job: Job, now: string): Promise<JobStatus> {
  if (job.status === 'OPEN') await saveJob(ctx, { ...job, status: 'TRAINING', updatedAt: now }, 'OPEN');
  return 'TRAINING';
}

export async function claimTrial(
  ctx: Context,
  caller: Caller,
  jobId: string,
  trialId: string,
): Promise<Trial> {
  requireRole(caller, ['executor'], 'claiming a trial');
  await requireRegisteredNode(ctx, caller, 'executor', 'claiming a trial');
  const job = await loadJob(ctx, jobId);
  const now = txTimeIso(ctx);
  requireTrainingOpen(job, now, 'claim a trial');
  if (job.schedule.startAt !== undefined && now < job.schedule.startAt) {
    throw new InvalidStateError(
      `job "${jobId}" starts at ${job.schedule.startAt}; claim its trials from then on`,
    );
  }

  let trial: Trial;
  if (trialId === '') {
    const free = (await listTrials(ctx, jobId)).find((candidate) => isClaimable(candidate, now));
    if (free === undefined) {
      throw new InvalidStateError(
        `job "${jobId}" has no free trial: every trial is claimed, committed or failed`,
      );
    }
    trial = free;
  } else {
    trial = await loadTrial(ctx, jobId, trialId);
    if (!isClaimable(trial, now)) {
      const holder =
        trial.claimedBy !== undefined && sameParty(trial.claimedBy, caller) ? 'you' : 'another node';
      throw new InvalidStateError(
        trial.status === 'CLAIMED'
          ? `trial "${trial.trialId}" is held by ${holder} until ${trial.leaseExpiresAt ?? '?'}; ` +
              (holder === 'you' ? 'extend it with RenewLease' : 'claim another trial')
          : `trial "${trial.trialId}" is ${trial.status} and cannot be claimed again`,
      );
    }
  }

  // A lease that ran out means its node stopped: the ledger counts that as a failure of that node.
  const previous = trial.status === 'CLAIMED' ? trial.claimedBy : undefined;
  if (previous !== undefined && !sameParty(previous, caller))
    await countOutcome(ctx, previous, 'failed', now);

  const claimed: Trial = {
    ...trial,
    status: 'CLAIMED',
    claimedBy: asParty(caller),
    claimedAt: now,
    leaseExpiresAt: isoPlusSeconds(now, job.leaseSeconds),
    attempts: trial.attempts + 1,
    updatedAt: now,
  };
  await saveTrial(ctx, claimed);
  const jobStatus = await markTraining(ctx, job, now);
  await emit(
    ctx,
    caller,
    EVENT.trialClaimed,
    {
      jobId,
      trialId: claimed.trialId,
      node: asParty(caller),
      leaseExpiresAt: claimed.leaseExpiresAt,
      attempts: claimed.attempts,
      reclaimedFrom: previous,
      jobStatus,
      previousJobStatus: job.status,
    },
    jobId,
  );
  return claimed;
}

export async function renewLease(
  ctx: Context,
  caller: Caller,
  jobId: string,
  trialId: string,
): Promise<Trial> {
  requireRole(caller, ['executor'], 'renewing a lease');
  const job = await loadJob(ctx, jobId);
  const now = txTimeIso(ctx);
  requireTrainingOpen(job, now, 'renew a lease');
  const trial = await loadTrial(ctx, jobId, trialId);
  requireHolder(trial, caller, 'renewing the lease');
  const renewed: Trial = { ...trial, leaseExpiresAt: isoPlusSeconds(now, job.leaseSeconds), updatedAt: now };
  await saveTrial(ctx, renewed);
  await emit(
    ctx,
    caller,
    EVENT.leaseRenewed,
    { jobId, trialId, node: asParty(caller), leaseExpiresAt: renewed.leaseExpiresAt, jobStatus: job.status },
    jobId,
  );
  return renewed;
}

/**
 * After a trial settles: once every trial is committed or failed the job moves on, to VALIDATING
 * with at least one candidate, to FAILED without any. It reads the job's progress counter, not the
 * trials, so that settling does not conflict with claims and renewals of other trials.
 */
async function advanceWhenSettled(
  ctx: Context,
  job: Job,
  settled: Trial & { status: 'COMMITTED' | 'FAILED' },
  now: string,
): Promise<JobStatus> {
  const progress = await countSettled(ctx, job.jobId, settled, now);
  if (progress.committed + progress.failed < progress.total) return job.status;
  if (progress.committed > 0) {
    await saveJob(ctx, { ...job, status: 'VALIDATING', updatedAt: now }, job.status);
    return 'VALIDATING';
  }
  const outcome = {
    finalizedAt: now,
    candidates: [],
    disagreements: [],
    certificateIds: [],
    failureReason: 'every trial failed',
  };
  await saveJob(ctx, { ...job, status: 'FAILED', updatedAt: now, outcome }, job.status);
  return 'FAILED';
}

/**
 * Hands a claimed trial back: it becomes OPEN for any node, and nobody is counted a failure, because
 * the node did not fail the trial, it cannot take it on (e.g. the model is larger than it accepts).
 */
export async function releaseTrial(
  ctx: Context,
  caller: Caller,
  jobId: string,
  trialId: string,
  reason: string,
): Promise<Trial> {
  requireRole(caller, ['executor'], 'releasing a trial');
  const releaseReason = readString(reason, 'reason', { max: 1024 });
  const job = await loadJob(ctx, jobId);
  const now = txTimeIso(ctx);
  requireTrainingOpen(job, now, 'release a trial');
  const trial = await loadTrial(ctx, jobId, trialId);
  requireHolder(trial, caller, 'releasing the trial');
  requireLeaseHeld(trial, now, 'release');
  const released: Trial = {
    ...trial,
    status: 'OPEN',
    claimedBy: undefined,
    claimedAt: undefined,
    leaseExpiresAt: undefined,
    updatedAt: now,
  };
  await saveTrial(ctx, released);
  await emit(
    ctx,
    caller,
    EVENT.trialReleased,
    {
      jobId,
      trialId,
      node: asParty(caller),
      reason: releaseReason,
      attempts: trial.attempts,
      jobStatus: job.status,
    },
    jobId,
  );
  return released;
}

export async function failTrial(
  ctx: Context,
  caller: Caller,
  jobId: string,
  trialId: string,
  reason: string,
): Promise<Trial> {
  requireRole(caller, ['executor'], 'reporting a trial failure');
  const failureReason = readString(reason, 'reason', { max: 1024 });
  const job = await loadJob(ctx, jobId);
  const now = txTimeIso(ctx);
  requireTrainingOpen(job, now, 'report a trial failure');
  const trial = await loadTrial(ctx, jobId, trialId);
  requireHolder(trial, caller, 'reporting the failure');
  const failed: Trial & { status: 'FAILED' } = {
    ...trial,
    status: 'FAILED',
    failureReason,
    leaseExpiresAt: undefined,
    updatedAt: now,
  };
  await saveTrial(ctx, failed);
  await countOutcome(ctx, caller, 'failed', now);
  const jobStatus = await advanceWhenSettled(ctx, job, failed, now);
  await emit(
    ctx,
    caller,
    EVENT.trialFailed,
    {
      jobId,
      trialId,
      node: asParty(caller),
      reason: failureReason,
      jobStatus,
      previousJobStatus: job.status,
    },
    jobId,
  );
  return failed;
}

export interface CandidateInput {
  modelHash: string;
  artifactUri: string;
  checkpointHashes: string[];
  metrics: Record<string, number>;
  backend: string;
}

export function parseCandidateInput(value: unknown): CandidateInput {
  const record = strictObject(value, 'candidate', [
    'modelHash',
    'artifactUri',
    'checkpointHashes',
    'metrics',
    'backend',
  ]);
  return {
    modelHash: readSha256(record.modelHash, 'candidate.modelHash'),
    artifactUri: readString(record.artifactUri, 'candidate.artifactUri', { max: 2048 }),
    checkpointHashes: readArray(
      record.checkpointHashes ?? [],
      'candidate.checkpointHashes',
      { min: 0, max: MAX_CHECKPOINTS },
      readSha256,
    ),
    metrics: readNumberMap(record.metrics, 'candidate.metrics'),
    backend: readString(record.backend, 'candidate.backend', { max: 64 }),
  };
}

export async function commitCandidate(
  ctx: Context,
  caller: Caller,
  jobId: string,
  trialId: string,
  input: CandidateInput,
): Promise<Candidate> {
  requireRole(caller, ['executor'], 'committing a candidate');
  const job = await loadJob(ctx, jobId);
  const now = txTimeIso(ctx);
  requireTrainingOpen(job, now, 'commit a candidate');
  const trial = await loadTrial(ctx, jobId, trialId);
  requireHolder(trial, caller, 'committing a candidate');
  const candidate: Candidate = {
    jobId,
    trialId,
    node: asParty(caller),
    ...input,
    committedAt: now,
    txId: ctx.stub.getTxID(),
  };
  const committed: Trial & { status: 'COMMITTED' } = {
    ...trial,
    status: 'COMMITTED',
    leaseExpiresAt: undefined,
    updatedAt: now,
  };
  await writeValue(ctx, candidateKey(ctx, jobId, trialId), candidate);
  await saveTrial(ctx, committed);
  await countOutcome(ctx, caller, 'completed', now);
  const jobStatus = await advanceWhenSettled(ctx, job, committed, now);
  await emit(
    ctx,
    caller,
    EVENT.candidateCommitted,
    {
      jobId,
      trialId,
      node: asParty(caller),
      modelHash: candidate.modelHash,
      jobStatus,
      previousJobStatus: job.status,
    },
    jobId,
  );
  return candidate;
}
