import { InvalidArgumentError } from '../errors';
import { readId, readInteger, readIsoDate, strictObject } from '../validate';

/**
 * How many of a job's trials have settled. Kept beside the job so that deciding "every trial is
 * settled" reads this one key instead of ranging over every trial, which made every commit conflict
 * with every concurrent claim and renewal of the same job (PHANTOM_READ_CONFLICT).
 */
export interface JobProgress {
  jobId: string;
  total: number;
  committed: number;
  failed: number;
  updatedAt: string;
}

export function parseJobProgress(value: unknown): JobProgress {
  const record = strictObject(value, 'jobProgress', ['jobId', 'total', 'committed', 'failed', 'updatedAt']);
  const progress: JobProgress = {
    jobId: readId(record.jobId, 'jobProgress.jobId'),
    total: readInteger(record.total, 'jobProgress.total', 0, Number.MAX_SAFE_INTEGER),
    committed: readInteger(record.committed, 'jobProgress.committed', 0, Number.MAX_SAFE_INTEGER),
    failed: readInteger(record.failed, 'jobProgress.failed', 0, Number.MAX_SAFE_INTEGER),
    updatedAt: readIsoDate(record.updatedAt, 'jobProgress.updatedAt'),
  };
  if (progress.committed + progress.failed > progress.total) {
    throw new InvalidArgumentError(
      `jobProgress of "${progress.jobId}" counts more settled trials than the job has`,
    );
  }
  return progress;
}
