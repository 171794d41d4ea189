import * as grpc from '@grpc/grpc-js';
import { loadProgressService, type EpochProgress, type ProgressServiceClient } from '@decenter/proto';

export interface ProgressReport {
  jobId: string;
  trialId: string;
  epoch: number;
  epochs: number;
  metrics: Record<string, number>;
}

/** Where epoch progress goes; the no-op one is used when no gateway endpoint is configured. */
export interface ProgressSink {
  report(progress: ProgressReport): Promise<void>;
  close(): void;
}

export const NO_PROGRESS: ProgressSink = {
  report: () => Promise.resolve(),
  close: () => undefined,
};

/**
 * Reports each epoch to the gateway's ProgressService. Best effort by design: a report that fails or times
 * out is logged and dropped, so training never waits on or fails because of the gateway.
 */
export class GrpcProgressReporter implements ProgressSink {
  private readonly client: ProgressServiceClient;

  constructor(
    endpoint: string,
    private readonly node: { mspId: string; id: string },
    private readonly log: (event: Record<string, unknown>) => void = () => undefined,
    private readonly timeoutMs = 2_000,
  ) {
    const { Client } = loadProgressService();
    this.client = new Client(endpoint, grpc.credentials.createInsecure());
  }

  report(progress: ProgressReport): Promise<void> {
    const message: EpochProgress = {
      jobId: progress.jobId,
      trialId: progress.trialId,
      epoch: progress.epoch,
      epochs: progress.epochs,
      metrics: Object.fromEntries(Object.entries(progress.metrics).filter(([, v]) => Number.isFinite(v))),
      nodeMspId: this.node.mspId,
      nodeId: this.node.id,
      timestamp: new Date().toISOString(),
    };
    return new Promise((resolve) => {
      this.client.Report(message, { deadline: Date.now() + this.timeoutMs }, (error) => {
        if (error !== null)
          this.log({ event: 'progress-not-reported', jobId: progress.jobId, error: error.message });
        resolve();
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
