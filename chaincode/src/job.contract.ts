import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';

import { parseCreateJobInput } from './create-job.input';
import { EVENT, emit, parseHistoryEntry } from './events';
import { AccessDeniedError, AlreadyExistsError, InvalidArgumentError, InvalidStateError } from './errors';
import { asParty, getCaller, requireRole } from './identity';
import { initialProgress, saveProgress } from './job-progress.store';
import { findJob, listCandidates, listScores, listTrials, loadJob, saveJob, saveTrial } from './job.store';
import { parseJsonArgument, toJson } from './json';
import { KEY } from './keys';
import { JOB_STATUSES, TERMINAL_JOB_STATUSES, parseJob, type Job } from './models/job.model';
import { sameParty } from './models/party.model';
import { listNodes } from './node.store';
import { readAll, readPage } from './state';
import {
  commitCandidate,
  claimTrial,
  failTrial,
  parseCandidateInput,
  releaseTrial,
  renewLease,
} from './training.service';
import { txTimeIso } from './tx-time';
import { finalizeJob, parseScoresInput, submitScores } from './validation.service';
import { readEnum, readId, readInteger, readString, strictObject } from './validate';

export const MAX_PAGE_SIZE = 100;

function parseIndexValue(value: unknown): { jobId: string } {
  const record = strictObject(value, 'jobIndex', ['jobId']);
  return { jobId: readId(record.jobId, 'jobIndex.jobId') };
}

/** Training jobs from creation to selection. Results are deterministic JSON strings. */
@Info({
  title: 'JobContract',
  description: 'DeCenter training jobs: trials, candidates, scores and selection',
})
export class JobContract extends Contract {
  constructor() {
    super('JobContract');
  }

  @Transaction()
  @Returns('string')
  async CreateJob(ctx: Context, jobJson: string): Promise<string> {
    const caller = getCaller(ctx);
    requireRole(caller, ['member', 'admin'], 'creating a job');
    const now = txTimeIso(ctx);
    const input = parseCreateJobInput(parseJsonArgument(jobJson, 'jobJson'), now);
    if ((await findJob(ctx, input.jobId)) !== undefined) {
      throw new AlreadyExistsError(`job "${input.jobId}" already exists; choose another jobId`);
    }

    // Without an explicit list, the job is validated by the orgs that run validators today.
    const validatorOrgs =
      input.validation.validatorOrgs ??
      [
        ...new Set(
          (await listNodes(ctx)).filter((node) => node.role === 'validator').map((node) => node.mspId),
        ),
      ].sort();
    if (validatorOrgs.length === 0) {
      throw new InvalidStateError(
        'no validator org is known: list job.validation.validatorOrgs, or have validator nodes register with RegisterNode first',
      );
    }
    const quorum = input.validation.quorum ?? Math.floor(validatorOrgs.length / 2) + 1;
    if (quorum > validatorOrgs.length) {
      throw new InvalidArgumentError(
        `job.validation.quorum is ${quorum} but only ${validatorOrgs.length} validator orgs take part (${validatorOrgs.join(', ')})`,
      );
    }

    const job: Job = {
      ...input,
      owner: asParty(caller),
      validation: { validatorOrgs, quorum, tolerance: input.validation.tolerance },
      status: 'OPEN',
      createdAt: now,
      updatedAt: now,
    };
    await saveJob(ctx, job);
    for (const plan of job.trials)
      await saveTrial(ctx, { ...plan, jobId: job.jobId, status: 'OPEN', attempts: 0, updatedAt: now });
    await saveProgress(ctx, initialProgress(job.jobId, job.trials.length, now));
    await emit(
      ctx,
      caller,
      EVENT.jobCreated,
      {
        jobId: job.jobId,
        owner: job.owner,
        specHash: job.specHash,
        trialCount: job.trials.length,
        validatorOrgs,
        quorum,
        schedule: job.schedule,
        jobStatus: job.status,
      },
      job.jobId,
    );
    return toJson(job);
  }

  @Transaction(false)
  @Returns('string')
  async GetJob(ctx: Context, jobId: string): Promise<string> {
    getCaller(ctx);
    return toJson(await loadJob(ctx, readId(jobId, 'jobId')));
  }

  /** status and owner ('' for any) filter through their own indexes; bookmark '' starts at the first page. */
  @Transaction(false)
  @Returns('string')
  async ListJobs(
    ctx: Context,
    status: string,
    owner: string,
    pageSize: number,
    bookmark: string,
  ): Promise<string> {
    getCaller(ctx);
    const size = readInteger(pageSize, 'pageSize', 1, MAX_PAGE_SIZE);
    const statusFilter = status === '' ? undefined : readEnum(status, 'status', JOB_STATUSES);
    const ownerFilter = owner === '' ? undefined : readString(owner, 'owner', { max: 1024 });
    let jobs: Job[];
    let page;
    if (ownerFilter === undefined && statusFilter === undefined) {
      page = await readPage(ctx, KEY.job, [], size, bookmark, parseJob);
      jobs = page.items.map((item) => item.value);
    } else {
      page =
        ownerFilter === undefined
          ? await readPage(ctx, KEY.jobByStatus, [statusFilter ?? ''], size, bookmark, parseIndexValue)
          : await readPage(
              ctx,
              KEY.jobByOwner,
              statusFilter === undefined ? [ownerFilter] : [ownerFilter, statusFilter],
              size,
              bookmark,
              parseIndexValue,
            );
      jobs = [];
      for (const item of page.items) jobs.push(await loadJob(ctx, item.value.jobId));
    }
    return toJson({ jobs, bookmark: page.bookmark, fetchedRecordsCount: page.fetchedRecordsCount });
  }

  @Transaction(false)
  @Returns('string')
  async ListTrials(ctx: Context, jobId: string): Promise<string> {
    getCaller(ctx);
    const job = await loadJob(ctx, readId(jobId, 'jobId'));
    return toJson(await listTrials(ctx, job.jobId));
  }

  @Transaction(false)
  @Returns('string')
  async ListCandidates(ctx: Context, jobId: string): Promise<string> {
    getCaller(ctx);
    const job = await loadJob(ctx, readId(jobId, 'jobId'));
    return toJson(await listCandidates(ctx, job.jobId));
  }

  @Transaction(false)
  @Returns('string')
  async ListScores(ctx: Context, jobId: string): Promise<string> {
    getCaller(ctx);
    const job = await loadJob(ctx, readId(jobId, 'jobId'));
    return toJson(await listScores(ctx, job.jobId));
  }

  @Transaction()
  @Returns('string')
  async CancelJob(ctx: Context, jobId: string, reason: string): Promise<string> {
    const caller = getCaller(ctx);
    const job = await loadJob(ctx, readId(jobId, 'jobId'));
    if (!sameParty(job.owner, caller)) {
      throw new AccessDeniedError(
        `cancelling job "${job.jobId}" is reserved to its owner; only the identity that created it can cancel it`,
      );
    }
    if (TERMINAL_JOB_STATUSES.includes(job.status)) {
      throw new InvalidStateError(`job "${job.jobId}" is already ${job.status} and cannot be cancelled`);
    }
    const now = txTimeIso(ctx);
    const cancelReason = reason === '' ? undefined : readString(reason, 'reason', { max: 1024 });
    const cancelled: Job = { ...job, status: 'CANCELLED', updatedAt: now, cancelReason };
    await saveJob(ctx, cancelled, job.status);
    await emit(
      ctx,
      caller,
      EVENT.jobCancelled,
      { jobId: job.jobId, reason: cancelReason, jobStatus: 'CANCELLED', previousJobStatus: job.status },
      job.jobId,
    );
    return toJson(cancelled);
  }

  /** trialId '' claims the first free trial in trialId order. */
  @Transaction()
  @Returns('string')
  async ClaimTrial(ctx: Context, jobId: string, trialId: string): Promise<string> {
    const caller = getCaller(ctx);
    const id = readId(jobId, 'jobId');
    return toJson(await claimTrial(ctx, caller, id, trialId === '' ? '' : readId(trialId, 'trialId')));
  }

  @Transaction()
  @Returns('string')
  async RenewLease(ctx: Context, jobId: string, trialId: string): Promise<string> {
    const caller = getCaller(ctx);
    return toJson(await renewLease(ctx, caller, readId(jobId, 'jobId'), readId(trialId, 'trialId')));
  }

  /** The holder hands a trial it cannot train back to OPEN, without a failure counted against anyone. */
  @Transaction()
  @Returns('string')
  async ReleaseTrial(ctx: Context, jobId: string, trialId: string, reason: string): Promise<string> {
    const caller = getCaller(ctx);
    return toJson(
      await releaseTrial(ctx, caller, readId(jobId, 'jobId'), readId(trialId, 'trialId'), reason),
    );
  }

  @Transaction()
  @Returns('string')
  async FailTrial(ctx: Context, jobId: string, trialId: string, reason: string): Promise<string> {
    const caller = getCaller(ctx);
    return toJson(await failTrial(ctx, caller, readId(jobId, 'jobId'), readId(trialId, 'trialId'), reason));
  }

  @Transaction()
  @Returns('string')
  async CommitCandidate(
    ctx: Context,
    jobId: string,
    trialId: string,
    candidateJson: string,
  ): Promise<string> {
    const caller = getCaller(ctx);
    const input = parseCandidateInput(parseJsonArgument(candidateJson, 'candidateJson'));
    return toJson(
      await commitCandidate(ctx, caller, readId(jobId, 'jobId'), readId(trialId, 'trialId'), input),
    );
  }

  @Transaction()
  @Returns('string')
  async SubmitScores(ctx: Context, jobId: string, scoresJson: string): Promise<string> {
    const caller = getCaller(ctx);
    const inputs = parseScoresInput(parseJsonArgument(scoresJson, 'scoresJson'));
    return toJson(await submitScores(ctx, caller, readId(jobId, 'jobId'), inputs));
  }

  @Transaction()
  @Returns('string')
  async FinalizeJob(ctx: Context, jobId: string): Promise<string> {
    const caller = getCaller(ctx);
    return toJson(await finalizeJob(ctx, caller, readId(jobId, 'jobId')));
  }

  /** Every recorded change of the job, oldest first. */
  @Transaction(false)
  @Returns('string')
  async GetJobHistory(ctx: Context, jobId: string): Promise<string> {
    getCaller(ctx);
    const job = await loadJob(ctx, readId(jobId, 'jobId'));
    const entries = await readAll(ctx, KEY.jobHistory, [job.jobId], parseHistoryEntry);
    return toJson(entries.map((entry) => entry.value));
  }
}
