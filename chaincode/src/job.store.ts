import type { Context } from 'fabric-contract-api';

import { NotFoundError } from './errors';
import { KEY } from './keys';
import { parseCandidate, type Candidate } from './models/candidate.model';
import { parseJob, type Job } from './models/job.model';
import { parseScore, type Score } from './models/score.model';
import { parseTrial, type Trial } from './models/trial.model';
import { key, readAll, readValue, writeValue } from './state';

/** Reads and writes of jobs and their trials, candidates and scores, with the job indexes kept in step. */

export function jobKey(ctx: Context, jobId: string): string {
  return key(ctx, KEY.job, [jobId]);
}

export async function findJob(ctx: Context, jobId: string): Promise<Job | undefined> {
  return readValue(ctx, jobKey(ctx, jobId), parseJob);
}

export async function loadJob(ctx: Context, jobId: string): Promise<Job> {
  const job = await findJob(ctx, jobId);
  if (job === undefined) {
    throw new NotFoundError(`job "${jobId}" does not exist; check the jobId or find it with ListJobs`);
  }
  return job;
}

function indexKeys(ctx: Context, job: Job): string[] {
  return [
    key(ctx, KEY.jobByStatus, [job.status, job.jobId]),
    key(ctx, KEY.jobByOwner, [job.owner.id, job.status, job.jobId]),
  ];
}

/** Writes the job; when its status changed, moves its index entries from the old status to the new. */
export async function saveJob(ctx: Context, job: Job, previousStatus?: Job['status']): Promise<void> {
  await writeValue(ctx, jobKey(ctx, job.jobId), job);
  if (previousStatus === job.status) return;
  if (previousStatus !== undefined) {
    for (const stale of indexKeys(ctx, { ...job, status: previousStatus })) await ctx.stub.deleteState(stale);
  }
  // Index values must not be empty: Fabric treats putState with empty bytes as a delete.
  for (const index of indexKeys(ctx, job)) await writeValue(ctx, index, { jobId: job.jobId });
}

export function trialKey(ctx: Context, jobId: string, trialId: string): string {
  return key(ctx, KEY.trial, [jobId, trialId]);
}

export async function loadTrial(ctx: Context, jobId: string, trialId: string): Promise<Trial> {
  const trial = await readValue(ctx, trialKey(ctx, jobId, trialId), parseTrial);
  if (trial === undefined) {
    throw new NotFoundError(`job "${jobId}" has no trial "${trialId}"; list its trials with ListTrials`);
  }
  return trial;
}

export async function saveTrial(ctx: Context, trial: Trial): Promise<void> {
  await writeValue(ctx, trialKey(ctx, trial.jobId, trial.trialId), trial);
}

export async function listTrials(ctx: Context, jobId: string): Promise<Trial[]> {
  return (await readAll(ctx, KEY.trial, [jobId], parseTrial)).map((entry) => entry.value);
}

export function candidateKey(ctx: Context, jobId: string, trialId: string): string {
  return key(ctx, KEY.candidate, [jobId, trialId]);
}

export async function listCandidates(ctx: Context, jobId: string): Promise<Candidate[]> {
  return (await readAll(ctx, KEY.candidate, [jobId], parseCandidate)).map((entry) => entry.value);
}

export async function findCandidate(
  ctx: Context,
  jobId: string,
  trialId: string,
): Promise<Candidate | undefined> {
  return readValue(ctx, candidateKey(ctx, jobId, trialId), parseCandidate);
}

export function scoreKey(ctx: Context, jobId: string, trialId: string, mspId: string): string {
  return key(ctx, KEY.score, [jobId, trialId, mspId]);
}

export async function listScores(ctx: Context, jobId: string): Promise<Score[]> {
  return (await readAll(ctx, KEY.score, [jobId], parseScore)).map((entry) => entry.value);
}
