import path from 'node:path';

import type { TrainingBackend } from '@decenter/core';
import {
  JobsClient,
  LedgerConnection,
  loadNetworkConfig,
  NodesClient,
  subscribeEvents,
  type JobRecord,
  type Subscription,
} from '@decenter/ledger';
import { LocalDiskBackend } from '@decenter/storage';

import { ClaimScheduler } from './claim.scheduler';
import { DataFetcher } from './data.fetcher';
import { failureReason } from './executor.errors';
import { acceptsOrg, capabilitiesOf, type NodeConfig } from './node.config';
import { fabricIdOfFile } from './node.identity';
import {
  GrpcProgressReporter,
  NO_PROGRESS,
  progressSignerOf,
  type ProgressRoutes,
  type ProgressSink,
} from './progress.reporter';
import { writeStatus, type NodeStatus, type TrialStatus } from './status.store';
import { TrialRunner, type TrialRunnerOptions } from './trial.runner';

/** Chaincode events after which there may be new work. Lease expiries have no event: the poll finds them. */
const WORK_EVENTS = new Set(['JobCreated', 'TrialFailed', 'TrialReleased']);

export type Logger = (event: Record<string, unknown>) => void;

export function jsonLogger(identity: string): Logger {
  return (event) => {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), node: identity, ...event })}\n`);
  };
}

/**
 * An execution node: registers on the ledger with what it offers, follows chaincode events from a
 * checkpoint, scans open jobs at start and every `pollMs`, claims trials of the jobs it accepts up to its
 * concurrency and trains each one in a sandboxed child process, reporting its state in status.json.
 */
export class ExecutorNode {
  private connection: LedgerConnection | undefined;
  private subscription: Subscription | undefined;
  private scheduler: ClaimScheduler | undefined;
  private progress: ProgressSink = NO_PROGRESS;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly trials = new Map<string, TrialStatus>();
  private status: NodeStatus;
  private statusWrite: Promise<void> = Promise.resolve();
  private backends: TrainingBackend[];
  /** Aborted by stop(): running trainers are killed and their trials released for other nodes to claim. */
  private readonly shutdown = new AbortController();
  /** Train + validation bytes per manifest hash, so a job's manifest is read once for the size check. */
  private readonly dataBytes = new Map<string, number>();

  constructor(
    private readonly config: NodeConfig,
    private readonly log: Logger = jsonLogger(config.identity),
  ) {
    this.backends = config.accepts.backends;
    const now = new Date().toISOString();
    this.status = {
      identity: config.identity,
      mspId: '',
      pid: process.pid,
      state: 'starting',
      backends: this.backends,
      concurrency: config.concurrency,
      startedAt: now,
      updatedAt: now,
      jobs: [],
      trials: [],
      completed: 0,
      failed: 0,
    };
  }

  async start(): Promise<void> {
    const { config } = this;
    const network = await loadNetworkConfig(config.networkConfigPath);
    const connection = await LedgerConnection.open({ config: network, identity: config.identity });
    this.connection = connection;
    this.status.mspId = connection.identity.mspId;
    const principal = {
      mspId: connection.identity.mspId,
      id: await fabricIdOfFile(connection.identity.cert),
      role: 'executor' as const,
    };
    const jobs = new JobsClient(connection);
    const nodes = new NodesClient(connection);
    await nodes.registerNode(capabilitiesOf(config));
    this.log({ event: 'registered', mspId: principal.mspId, capabilities: capabilitiesOf(config) });

    const routes: ProgressRoutes = {
      byMsp: config.progressEndpoints,
      ...(config.progressEndpoint === undefined ? {} : { default: config.progressEndpoint }),
    };
    if (routes.default !== undefined || Object.keys(routes.byMsp).length > 0) {
      const signer = await progressSignerOf(connection.identity);
      this.progress = new GrpcProgressReporter(routes, { id: principal.id, signer }, this.log);
    }
    const fetcher = new DataFetcher(
      new LocalDiskBackend(config.storageDir),
      path.join(config.nodeDir, 'cache'),
      principal,
    );
    const runnerOptions: TrialRunnerOptions = {
      ledger: jobs,
      fetcher,
      storage: new LocalDiskBackend(config.storageDir),
      progress: this.progress,
      principal,
      trialsDir: path.join(config.nodeDir, 'trials'),
      memoryMiB: config.offers.memoryMiB,
      backends: this.backends,
      ...(config.accepts.maxDataBytes === undefined ? {} : { maxDataBytes: config.accepts.maxDataBytes }),
      ...(config.accepts.maxModelParameters === undefined
        ? {}
        : { maxModelParameters: config.accepts.maxModelParameters }),
      leaseRenewFraction: config.leaseRenewFraction,
      onStatus: () => undefined,
      log: this.log,
    };
    this.scheduler = new ClaimScheduler({
      port: {
        listActiveJobs: async () => [
          ...(await jobs.listAllJobs({ status: 'TRAINING' })),
          ...(await jobs.listAllJobs({ status: 'OPEN' })),
        ],
        listTrials: (jobId) => jobs.listTrials(jobId),
        claimTrial: async (jobId, trialId) => (await jobs.claimTrial(jobId, trialId)).result,
      },
      concurrency: config.concurrency,
      accepts: (job: JobRecord) => this.accepts(job, fetcher),
      run: async (job, trial) => {
        const key = `${job.jobId}/${trial.trialId}`;
        const trialRunner = new TrialRunner({
          ...runnerOptions,
          onStatus: (trialStatus) => {
            if (trialStatus === undefined) this.trials.delete(key);
            else this.trials.set(key, trialStatus);
            this.saveStatus();
          },
        });
        const outcome = await trialRunner.run(job, trial, this.shutdown.signal);
        if (outcome === 'committed') this.status.completed++;
        if (outcome === 'failed') this.status.failed++;
        this.saveStatus();
      },
      log: this.log,
    });

    // Catch up on jobs created while the node was away, then follow events from the checkpoint.
    this.status.state = 'running';
    this.saveStatus();
    void this.scheduler.requestScan();
    this.subscription = subscribeEvents(connection, {
      checkpointFile: path.join(config.nodeDir, 'events.checkpoint.json'),
      onEvent: (event) => {
        if (WORK_EVENTS.has(event.name)) void this.scheduler?.requestScan();
      },
      onError: (error) => {
        this.log({ event: 'event-stream-error', error: failureReason(error) });
      },
    });
    this.subscription.done.catch((error: unknown) => {
      this.log({ event: 'event-stream-stopped', error: failureReason(error) });
    });
    this.pollTimer = setInterval(() => {
      void this.scheduler?.requestScan();
    }, config.pollMs);
  }

  /**
   * Whether to claim trials of `job`: its owner's org is one the node works for and its train + validation
   * data fits the node's limit (read from the job's manifest before claiming, so a job too big for this
   * node is left to others instead of being failed). A manifest that cannot be read or verified does not
   * stop the claim: the trial then fails on the ledger with that reason.
   */
  private async accepts(job: JobRecord, fetcher: DataFetcher): Promise<boolean> {
    if (!acceptsOrg(this.config, job.owner.mspId)) return false;
    const limit = this.config.accepts.maxDataBytes;
    if (limit === undefined) return true;
    let bytes = this.dataBytes.get(job.manifestHash);
    if (bytes === undefined) {
      try {
        const { manifest } = await fetcher.loadManifest(job);
        bytes = manifest.objects
          .filter((object) => object.role === 'train' || object.role === 'validation')
          .reduce((sum, object) => sum + object.size, 0);
        this.dataBytes.set(job.manifestHash, bytes);
      } catch {
        return true;
      }
    }
    if (bytes > limit) {
      this.log({ event: 'job-too-big', jobId: job.jobId, bytes, maxDataBytes: limit });
      return false;
    }
    return true;
  }

  /**
   * Stops claiming, kills running trainers and hands their trials back with ReleaseTrial so that another
   * node claims them at once (a trial whose release fails is left to its lease). Then closes the ledger.
   */
  async stop(): Promise<void> {
    this.status.state = 'stopping';
    this.saveStatus();
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.shutdown.abort();
    await this.subscription?.close();
    await this.scheduler?.stop();
    this.progress.close();
    this.connection?.close();
    this.status.state = 'stopped';
    this.saveStatus();
    await this.statusWrite;
  }

  private saveStatus(): void {
    this.status = {
      ...this.status,
      updatedAt: new Date().toISOString(),
      trials: [...this.trials.values()],
      jobs: [...new Set([...this.trials.values()].map((trial) => trial.jobId))],
    };
    const snapshot = this.status;
    // Writes are chained so an older snapshot never lands after a newer one.
    this.statusWrite = this.statusWrite
      .then(() => writeStatus(this.config.nodeDir, snapshot))
      .catch((error: unknown) => {
        this.log({ event: 'status-not-written', error: failureReason(error) });
      });
  }
}
