import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, type OnModuleInit } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';

import { EventsService } from '../services/events.service';
import {
  IngestService,
  PermanentIngestError,
  toFailure,
  type IngestResult,
} from '../services/ingest.service';
import { MetricsService } from '../services/metrics.service';
import { JobName, QueueName, type IngestJobData, type IngestProgress } from '../services/queue.constants';

type Handler = (job: Job<IngestJobData>) => Promise<unknown>;

/**
 * The ingest queue's worker: one handler per job name (a `Record` over the enum, so a missing handler is a
 * compile error, and checked again at start-up against the names the enum holds at run time).
 */
@Processor(QueueName.Ingest, { concurrency: 1 })
export class IngestProcessor extends WorkerHost implements OnModuleInit {
  private readonly logger = new Logger(IngestProcessor.name);
  private readonly handlers: Record<JobName, Handler> = {
    [JobName.IngestDataset]: (job) => this.ingest(job),
  };

  constructor(
    private readonly ingestService: IngestService,
    private readonly events: EventsService,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  onModuleInit(): void {
    const missing = Object.values(JobName).filter((name) => typeof this.handlers[name] !== 'function');
    if (missing.length > 0) throw new Error(`No handler for ${QueueName.Ingest} jobs: ${missing.join(', ')}`);
  }

  async process(job: Job<IngestJobData>): Promise<unknown> {
    const handler = (this.handlers as Partial<Record<string, Handler>>)[job.name];
    if (handler === undefined) throw new UnrecoverableError(`Unknown job name ${job.name}`);
    return handler(job);
  }

  private async ingest(job: Job<IngestJobData>): Promise<IngestResult> {
    const { jobId } = job.data;
    let last: IngestProgress = { stage: 'validate', percent: 0 };
    const report = async (progress: IngestProgress): Promise<void> => {
      last = progress;
      await job.updateProgress({ ...progress });
      this.events.publishIngest(jobId, { ...progress });
    };
    try {
      const result = await this.ingestService.run(job.data, {
        attempt: job.attemptsMade + 1,
        maxAttempts: job.opts.attempts ?? 1,
        report,
      });
      this.metrics.ingestJobs.inc({ outcome: 'completed' });
      return result;
    } catch (error) {
      const failure = toFailure(error);
      // Kept in the job's progress so GET /api/jobs/:id/ingest can show the file and line.
      await job.updateProgress({ ...last, failure: { ...failure } });
      this.events.publishIngest(jobId, { ...last, failure: { ...failure } });
      this.metrics.ingestJobs.inc({ outcome: error instanceof PermanentIngestError ? 'refused' : 'failed' });
      this.logger.warn(`Ingest ${jobId} attempt ${String(job.attemptsMade + 1)} failed: ${failure.message}`);
      if (error instanceof PermanentIngestError) throw new UnrecoverableError(failure.message);
      throw error;
    }
  }
}
