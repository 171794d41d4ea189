import type { Context } from 'fabric-contract-api';

import { mintCertificates } from './certificate.store';
import { EVENT, emit } from './events';
import {
  AccessDeniedError,
  InvalidArgumentError,
  InvalidStateError,
  NotFoundError,
  QuorumNotReachedError,
} from './errors';
import { asParty, requireRole, type Caller } from './identity';
import { findCandidate, listCandidates, listScores, loadJob, saveJob, scoreKey } from './job.store';
import type { Job, JobOutcome, JobStatus } from './models/job.model';
import { MAX_TRIALS } from './models/job.model';
import type { Score } from './models/score.model';
import { countOutcome, requireRegisteredNode } from './node.store';
import { select } from './selection';
import { writeValue } from './state';
import { txTimeIso } from './tx-time';
import {
  optional,
  readArray,
  readBoolean,
  readId,
  readNumber,
  readNumberMap,
  readString,
  strictObject,
} from './validate';

/** Scoring and finalization: the VALIDATING phase of a job and its end. */

export interface ScoreInput {
  trialId: string;
  verified: boolean;
  score?: number;
  metrics?: Record<string, number>;
  rejectionReason?: string;
}

export function parseScoresInput(value: unknown): ScoreInput[] {
  const scores = readArray(value, 'scores', { min: 1, max: MAX_TRIALS }, (item, path): ScoreInput => {
    const record = strictObject(item, path, ['trialId', 'verified', 'score', 'metrics', 'rejectionReason']);
    const verified = readBoolean(record.verified, `${path}.verified`);
    const parsed: ScoreInput = {
      trialId: readId(record.trialId, `${path}.trialId`),
      verified,
      score: optional(record.score, (v) => readNumber(v, `${path}.score`)),
      metrics: optional(record.metrics, (v) => readNumberMap(v, `${path}.metrics`)),
      rejectionReason: optional(record.rejectionReason, (v) =>
        readString(v, `${path}.rejectionReason`, { max: 1024 }),
      ),
    };
    if (verified && (parsed.score === undefined || parsed.rejectionReason !== undefined)) {
      throw new InvalidArgumentError(`${path}: a verified candidate needs a score and no rejectionReason`);
    }
    if (!verified && (parsed.rejectionReason === undefined || parsed.score !== undefined)) {
      throw new InvalidArgumentError(
        `${path}: a candidate that failed verification needs a rejectionReason and no score`,
      );
    }
    return parsed;
  });
  const seen = new Set<string>();
  for (const score of scores) {
    if (seen.has(score.trialId))
      throw new InvalidArgumentError(`scores lists trial "${score.trialId}" twice`);
    seen.add(score.trialId);
  }
  return scores;
}

/**
 * Where validation may happen: VALIDATING, or a job still training whose training deadline has
 * passed (it moves to VALIDATING with what was committed).
 */
function validationStatus(job: Job, now: string, action: string): JobStatus {
  if (job.status === 'VALIDATING') return 'VALIDATING';
  if ((job.status === 'OPEN' || job.status === 'TRAINING') && now >= job.schedule.trainingDeadline)
    return 'VALIDATING';
  if (job.status === 'OPEN' || job.status === 'TRAINING') {
    throw new InvalidStateError(
      `cannot ${action}: job "${job.jobId}" is ${job.status} until its trials are settled or its training deadline ` +
        `${job.schedule.trainingDeadline} passes`,
    );
  }
  throw new InvalidStateError(`cannot ${action}: job "${job.jobId}" is already ${job.status}`);
}

export async function submitScores(
  ctx: Context,
  caller: Caller,
  jobId: string,
  inputs: ScoreInput[],
): Promise<Score[]> {
  requireRole(caller, ['validator'], 'submitting scores');
  await requireRegisteredNode(ctx, caller, 'validator', 'submitting scores');
  const job = await loadJob(ctx, jobId);
  if (!job.validation.validatorOrgs.includes(caller.mspId)) {
    throw new AccessDeniedError(
      `submitting scores for job "${jobId}" is reserved to its validator orgs (${job.validation.validatorOrgs.join(', ')}); ` +
        `${caller.mspId} is not one of them`,
    );
  }
  const now = txTimeIso(ctx);
  const status = validationStatus(job, now, 'submit scores');
  if (now >= job.schedule.validationDeadline) {
    throw new InvalidStateError(
      `the validation deadline of job "${jobId}" (${job.schedule.validationDeadline}) has passed; call FinalizeJob`,
    );
  }

  const scores: Score[] = [];
  for (const input of inputs) {
    const candidate = await findCandidate(ctx, jobId, input.trialId);
    if (candidate === undefined) {
      throw new NotFoundError(
        `job "${jobId}" has no candidate for trial "${input.trialId}"; list them with ListCandidates`,
      );
    }
    if (candidate.node.mspId === caller.mspId) {
      throw new AccessDeniedError(
        `scoring trial "${input.trialId}" is not allowed to ${caller.mspId}: validators never score candidates of their own org`,
      );
    }
    scores.push({
      jobId,
      mspId: caller.mspId,
      validator: asParty(caller),
      ...input,
      submittedAt: now,
      txId: ctx.stub.getTxID(),
    });
  }
  for (const score of scores) await writeValue(ctx, scoreKey(ctx, jobId, score.trialId, score.mspId), score);
  if (status !== job.status) await saveJob(ctx, { ...job, status, updatedAt: now }, job.status);
  await countOutcome(ctx, caller, 'completed', now);
  await emit(
    ctx,
    caller,
    EVENT.scoresSubmitted,
    {
      jobId,
      mspId: caller.mspId,
      validator: asParty(caller),
      trialIds: scores.map((score) => score.trialId),
      jobStatus: status,
      previousJobStatus: job.status,
    },
    jobId,
  );
  return scores;
}

/** Ends a job: COMPLETED with a winner and certificates, or FAILED with the reason. */
export async function finalizeJob(ctx: Context, caller: Caller, jobId: string): Promise<Job> {
  const job = await loadJob(ctx, jobId);
  const now = txTimeIso(ctx);
  validationStatus(job, now, 'finalize');
  const deadlinePassed = now >= job.schedule.validationDeadline;
  const candidates = await listCandidates(ctx, jobId);
  const scores = await listScores(ctx, jobId);
  const selection = select(job.objective, job.validation, candidates, scores, deadlinePassed);

  if (selection.undecided.length > 0 && !deadlinePassed) {
    throw new QuorumNotReachedError(
      `trials ${selection.undecided.join(', ')} of job "${jobId}" have no agreement of ${job.validation.quorum} validator ` +
        `orgs yet; wait for more scores, or until the validation deadline ${job.schedule.validationDeadline}`,
    );
  }

  // Each node is read and written once: reads in a transaction do not see its own writes.
  const rejectedByNode = new Map<string, { node: (typeof candidates)[number]['node']; count: number }>();
  for (const outcome of selection.outcomes) {
    if (outcome.verdict !== 'rejected') continue;
    const entry = rejectedByNode.get(outcome.node.id) ?? { node: outcome.node, count: 0 };
    entry.count += 1;
    rejectedByNode.set(outcome.node.id, entry);
  }
  for (const { node, count } of rejectedByNode.values())
    await countOutcome(ctx, node, 'rejected', now, count);

  const { winner } = selection;
  let outcome: JobOutcome;
  if (winner === undefined) {
    outcome = {
      finalizedAt: now,
      candidates: selection.outcomes,
      disagreements: selection.disagreements,
      certificateIds: [],
      failureReason:
        candidates.length === 0
          ? 'no candidate was committed before the training deadline'
          : 'no candidate was verified by a quorum of validator orgs',
    };
  } else {
    const validTrials = new Set(
      selection.outcomes.filter((o) => o.verdict === 'valid').map((o) => o.trialId),
    );
    const orderedValid = selection.outcomes
      .filter((o) => validTrials.has(o.trialId))
      .flatMap((o) => candidates.filter((candidate) => candidate.trialId === o.trialId));
    const minted = await mintCertificates(ctx, job, orderedValid, winner, scores, now);
    outcome = {
      finalizedAt: now,
      winner,
      candidates: selection.outcomes,
      disagreements: selection.disagreements,
      certificateIds: minted.map((certificate) => certificate.tokenId),
    };
  }
  const finalized: Job = {
    ...job,
    status: winner === undefined ? 'FAILED' : 'COMPLETED',
    updatedAt: now,
    outcome,
  };
  await saveJob(ctx, finalized, job.status);
  await emit(
    ctx,
    caller,
    EVENT.jobFinalized,
    {
      jobId,
      jobStatus: finalized.status,
      previousJobStatus: job.status,
      winner,
      certificateIds: outcome.certificateIds,
      disagreements: outcome.disagreements.length,
      failureReason: outcome.failureReason,
    },
    jobId,
  );
  return finalized;
}
