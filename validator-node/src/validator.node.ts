import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import {
  CertificatesClient,
  JobsClient,
  LedgerConnection,
  loadNetworkConfig,
  NodesClient,
  subscribeEvents,
  type LedgerEvent,
  type Subscription,
} from '@decenter/ledger';
import { initBackend } from '@decenter/ml';
import { LocalDiskBackend } from '@decenter/storage';
import { cpus, totalmem } from 'node:os';

import { JobFetcher } from './job.fetcher';
import { JobProcessor } from './job.processor';
import { fabricIdOfFile } from './node.identity';
import type { ValidatorConfig } from './validator.config';
import { describeError } from './validator.errors';

export type Logger = (event: Record<string, unknown>) => void;

export function jsonLogger(identity: string): Logger {
  return (event) => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), node: identity, ...event })}\n`);
  };
}

/** Events after which a job may need this validator: scoring, finalizing or publishing. */
const RELEVANT_EVENTS = new Set(['CandidateCommitted', 'TrialFailed', 'ScoresSubmitted', 'JobFinalized']);

/**
 * A validator node: registers on the ledger, follows chaincode events from a checkpoint, and scans the
 * jobs on start and every poll interval (a deadline passing emits no event). Work on one job is never
 * run twice at once; the ledger is checked before every submission, so a restart resubmits nothing.
 */
export class ValidatorNode {
  private connection: LedgerConnection | undefined;
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private processor: JobProcessor | undefined;
  private jobs: JobsClient | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(
    private readonly config: ValidatorConfig,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const network = await loadNetworkConfig(this.config.networkConfigPath);
    const connection = await LedgerConnection.open({ config: network, identity: this.config.identity });
    this.connection = connection;
    const backend = await initBackend();
    const jobs = new JobsClient(connection);
    this.jobs = jobs;
    const principal = {
      mspId: connection.identity.mspId,
      id: await fabricIdOfFile(connection.identity.cert),
      role: 'validator' as const,
    };
    const storage = new LocalDiskBackend(this.config.storageDir);
    const workDir = path.join(this.config.nodeDir, 'work');
    await mkdir(workDir, { recursive: true });
    this.processor = new JobProcessor({
      jobs,
      certificates: new CertificatesClient(connection),
      storage,
      fetcher: new JobFetcher(storage, path.join(this.config.nodeDir, 'cache'), principal),
      principal,
      workDir,
      backend: backend.name,
      log: this.log,
    });
    await new NodesClient(connection).registerNode({
      cores: cpus().length,
      memoryMiB: Math.floor(totalmem() / 1024 / 1024),
      backends: [backend.name],
    });
    this.log({ event: 'registered', mspId: principal.mspId, backend: backend.name });
    await this.scan();
    this.subscription = subscribeEvents(connection, {
      checkpointFile: path.join(this.config.nodeDir, 'events.checkpoint.json'),
      onEvent: (event) => {
        this.onEvent(event);
      },
      onError: (error) => {
        this.log({ event: 'events-reconnect', error: describeError(error) });
      },
    });
    this.timer = setInterval(() => {
      void this.scan();
    }, this.config.pollMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.subscription?.close();
    await Promise.allSettled([...this.running.values()]);
    this.connection?.close();
  }

  private onEvent(event: LedgerEvent): void {
    if (!RELEVANT_EVENTS.has(event.name)) return;
    const payload = event.payload as { jobId?: unknown } | undefined;
    if (typeof payload?.jobId === 'string') this.schedule(payload.jobId);
  }

  /** Catch-up: every job that may be waiting for validation (events missed while down, deadlines passed). */
  private async scan(): Promise<void> {
    const jobs = this.jobs;
    if (jobs === undefined || this.stopped) return;
    try {
      for (const status of ['VALIDATING', 'TRAINING', 'OPEN'] as const) {
        for (const job of await jobs.listAllJobs({ status })) {
          if (!job.validatorOrgs.includes(this.connection?.identity.mspId ?? '')) continue;
          if (status !== 'VALIDATING' && Date.now() < Date.parse(job.trainingDeadline)) continue;
          this.schedule(job.jobId);
        }
      }
    } catch (error) {
      this.log({ event: 'scan-failed', error: describeError(error) });
    }
  }

  /** Runs the job's work, or queues one more run if it is already running (a newer event may matter). */
  private schedule(jobId: string): void {
    if (this.stopped || this.processor === undefined) return;
    if (this.running.has(jobId)) {
      this.again.add(jobId);
      return;
    }
    const processor = this.processor;
    const run = (async () => {
      try {
        await processor.process(jobId);
      } catch (error) {
        this.log({ event: 'job-failed', jobId, error: describeError(error) });
      }
    })().finally(() => {
      this.running.delete(jobId);
      if (this.again.delete(jobId)) this.schedule(jobId);
    });
    this.running.set(jobId, run);
  }
}
