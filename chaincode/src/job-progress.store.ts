import type { Context } from 'fabric-contract-api';

import { listTrials } from './job.store';
import { KEY } from './keys';
import { parseJobProgress, type JobProgress } from './models/job-progress.model';
import type { Trial } from './models/trial.model';
import { key, readValue, writeValue } from './state';

/** The per-job count of settled trials (see JobProgress for why it exists). */

export function progressKey(ctx: Context, jobId: string): string {
  return key(ctx, KEY.jobProgress, [jobId]);
}

export async function saveProgress(ctx: Context, progress: JobProgress): Promise<void> {
  await writeValue(ctx, progressKey(ctx, progress.jobId), progress);
}

/** A job starts with none of its trials settled. */
export function initialProgress(jobId: string, total: number, now: string): JobProgress {
  return { jobId, total, committed: 0, failed: 0, updatedAt: now };
}

/**
 * Jobs created before the counter existed have none: it is counted once from their trials (the one
 * range read left), after which every settlement reads and writes this single key.
 */
async function currentProgress(ctx: Context, jobId: string, now: string): Promise<JobProgress> {
  const stored = await readValue(ctx, progressKey(ctx, jobId), parseJobProgress);
  if (stored !== undefined) return stored;
  const trials = await listTrials(ctx, jobId);
  return {
    ...initialProgress(jobId, trials.length, now),
    committed: trials.filter((trial) => trial.status === 'COMMITTED').length,
    failed: trials.filter((trial) => trial.status === 'FAILED').length,
  };
}

/**
 * Counts one trial that this transaction moved from CLAIMED to COMMITTED or FAILED. Each trial
 * settles once (only its CLAIMED holder can settle it, and the trial key's MVCC check stops a second
 * settlement), so the counter never counts a trial twice.
 */
export async function countSettled(
  ctx: Context,
  jobId: string,
  settled: Trial & { status: 'COMMITTED' | 'FAILED' },
  now: string,
): Promise<JobProgress> {
  const progress = await currentProgress(ctx, jobId, now);
  const next: JobProgress = {
    ...progress,
    committed: progress.committed + (settled.status === 'COMMITTED' ? 1 : 0),
    failed: progress.failed + (settled.status === 'FAILED' ? 1 : 0),
    updatedAt: now,
  };
  await saveProgress(ctx, next);
  return next;
}
