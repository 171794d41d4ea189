import {
  ConflictError,
  FailedPreconditionError,
  NotFoundError,
  type JobRecord,
  type TrialRecord,
} from '@decenter/ledger';

/** The ledger calls the scheduler needs; JobsClient provides them, tests give a fake. */
export interface ClaimPort {
  /** Jobs that may have trials to train (OPEN and TRAINING). */
  listActiveJobs(): Promise<JobRecord[]>;
  listTrials(jobId: string): Promise<TrialRecord[]>;
  claimTrial(jobId: string, trialId: string): Promise<TrialRecord>;
}

export interface ClaimSchedulerOptions {
  port: ClaimPort;
  concurrency: number;
  /** Whether the node works on this job at all (org, size, deadline). */
  accepts: (job: JobRecord) => boolean | Promise<boolean>;
  /** Trains a claimed trial; resolves when the trial is committed, failed or given up. */
  run: (job: JobRecord, trial: TrialRecord) => Promise<void>;
  now?: () => Date;
  log?: (event: Record<string, unknown>) => void;
}

/** A trial another node may take: never claimed, or its holder's lease ran out. */
export function isClaimable(trial: TrialRecord, now: Date): boolean {
  if (trial.status === 'OPEN') return true;
  if (trial.status !== 'CLAIMED') return false;
  return trial.leaseExpiresAt !== undefined && Date.parse(trial.leaseExpiresAt) <= now.getTime();
}

/** Whether a claim failed because another node got there first (or the trial moved on): try the next one. */
export function isLostRace(error: unknown): boolean {
  return (
    error instanceof ConflictError ||
    error instanceof FailedPreconditionError ||
    error instanceof NotFoundError
  );
}

function trialKey(jobId: string, trialId: string): string {
  return `${jobId}\u0000${trialId}`;
}

/**
 * Claims free trials of accepted jobs, up to `concurrency` at once, and hands each to `run`. Scans are
 * serialized and coalesced: a scan asked for while one runs happens once right after it. A lost race for a
 * trial (MVCC conflict, or it was claimed meanwhile) is normal with several nodes: the scan moves on to the
 * next trial. Expired leases make trials claimable again, which is how a dead node's trial gets finished.
 */
export class ClaimScheduler {
  private readonly running = new Map<string, Promise<void>>();
  private scanning: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly now: () => Date;
  private readonly log: (event: Record<string, unknown>) => void;

  constructor(private readonly options: ClaimSchedulerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.now = options.now ?? (() => new Date());
    this.log = options.log ?? (() => undefined);
  }

  get active(): number {
    return this.running.size;
  }

  /** Trials being trained, as `jobId/trialId`. */
  activeTrials(): string[] {
    return [...this.running.keys()].map((key) => key.replace('\u0000', '/'));
  }

  /** Asks for a scan; resolves when a scan that started after this call has finished. */
  requestScan(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.scanning !== undefined) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        do {
          this.again = false;
          await this.scanOnce();
        } while (this.shouldScanAgain());
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  /** Stops claiming; resolves when every running trial has settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.scanning?.catch(() => undefined);
    await Promise.allSettled([...this.running.values()]);
  }

  /** Resolves when every trial running now has settled (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.scanning !== undefined) {
      await Promise.allSettled([...this.running.values(), this.scanning]);
    }
  }

  /** Read through a method: requestScan() sets the flag while a scan awaits, which flow analysis cannot see. */
  private shouldScanAgain(): boolean {
    return this.again && !this.stopped;
  }

  private freeSlots(): number {
    return this.options.concurrency - this.running.size;
  }

  private async scanOnce(): Promise<void> {
    if (this.freeSlots() <= 0) return;
    let jobs: JobRecord[];
    try {
      jobs = await this.options.port.listActiveJobs();
    } catch (error) {
      this.log({ event: 'scan-failed', error: (error as Error).message });
      return;
    }
    for (const job of jobs) {
      if (this.stopped || this.freeSlots() <= 0) return;
      if (Date.parse(job.trainingDeadline) <= this.now().getTime()) continue;
      if (job.startAt !== undefined && Date.parse(job.startAt) > this.now().getTime()) continue;
      let accepted: boolean;
      try {
        accepted = await this.options.accepts(job);
      } catch (error) {
        this.log({ event: 'accept-check-failed', jobId: job.jobId, error: (error as Error).message });
        continue;
      }
      if (!accepted) continue;
      await this.claimFrom(job);
    }
  }

  private async claimFrom(job: JobRecord): Promise<void> {
    let trials: TrialRecord[];
    try {
      trials = await this.options.port.listTrials(job.jobId);
    } catch (error) {
      this.log({ event: 'list-trials-failed', jobId: job.jobId, error: (error as Error).message });
      return;
    }
    for (const trial of trials) {
      if (this.stopped || this.freeSlots() <= 0) return;
      const key = trialKey(job.jobId, trial.trialId);
      if (this.running.has(key) || !isClaimable(trial, this.now())) continue;
      let claimed: TrialRecord;
      try {
        claimed = await this.options.port.claimTrial(job.jobId, trial.trialId);
      } catch (error) {
        if (isLostRace(error)) {
          this.log({ event: 'claim-lost', jobId: job.jobId, trialId: trial.trialId });
          continue;
        }
        this.log({
          event: 'claim-failed',
          jobId: job.jobId,
          trialId: trial.trialId,
          error: (error as Error).message,
        });
        return;
      }
      this.log({ event: 'claimed', jobId: job.jobId, trialId: claimed.trialId, attempts: claimed.attempts });
      this.start(job, claimed, key);
    }
  }

  private start(job: JobRecord, trial: TrialRecord, key: string): void {
    const done = (async () => {
      try {
        await this.options.run(job, trial);
      } catch (error) {
        this.log({
          event: 'trial-crashed',
          jobId: job.jobId,
          trialId: trial.trialId,
          error: (error as Error).message,
        });
      } finally {
        this.running.delete(key);
        // A slot is free again: look for more work.
        if (!this.stopped) void this.requestScan();
      }
    })();
    this.running.set(key, done);
  }
}
