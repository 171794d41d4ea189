import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import { JobName, QueueName, type IngestJobData } from '../services/queue.constants';

export interface QueuedIngest {
  state: string;
  progress: unknown;
  attemptsMade: number;
  failedReason?: string;
  data: IngestJobData;
  returnValue: unknown;
}

/** The ingest queue in Redis (BullMQ). */
@Injectable()
export class QueueRepository {
  constructor(
    @InjectQueue(QueueName.Ingest) private readonly ingest: Queue<IngestJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Adds the ingest unless a job with this id exists already: BullMQ ignores a second add with the same
   * jobId, which makes a repeated submission (same idempotency key) a no-op.
   */
  async enqueueIngest(data: IngestJobData): Promise<void> {
    await this.ingest.add(JobName.IngestDataset, data, {
      jobId: data.jobId,
      attempts: this.config.ingestAttempts,
      backoff: { type: 'exponential', delay: 2000 },
      // Kept so GET /api/jobs/:id/ingest can report the outcome; bounded by age.
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    });
  }

  async find(jobId: string): Promise<QueuedIngest | undefined> {
    const job = await this.ingest.getJob(jobId);
    if (job === undefined) return undefined;
    const result: QueuedIngest = {
      state: await job.getState(),
      progress: job.progress,
      attemptsMade: job.attemptsMade,
      data: job.data,
      returnValue: job.returnvalue,
    };
    if (job.failedReason) result.failedReason = job.failedReason;
    return result;
  }

  async isHealthy(): Promise<boolean> {
    // Asking for the counts makes a round trip through the queue's own connection.
    await this.ingest.getJobCounts('waiting');
    return true;
  }
}
