import { readFile } from 'node:fs/promises';

import * as grpc from '@grpc/grpc-js';
import { loadIdentity, type NetworkIdentity } from '@decenter/ledger';
import {
  loadProgressService,
  signProgress,
  type EpochProgress,
  type ProgressServiceClient,
  type ProgressSigner,
} from '@decenter/proto';

export interface ProgressReport {
  jobId: string;
  /** MSP ID of the job's owner: its org's gateway is the one whose portal shows the job. */
  ownerMspId: string;
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

/** Which gateway receives a job's progress: by the owner's MSP ID, else the default (if any). */
export interface ProgressRoutes {
  byMsp: Readonly<Record<string, string>>;
  default?: string;
}

export function progressEndpointFor(routes: ProgressRoutes, ownerMspId: string): string | undefined {
  return Object.hasOwn(routes.byMsp, ownerMspId) ? routes.byMsp[ownerMspId] : routes.default;
}

/** The node's Fabric identity as a progress signer: the same certificate and key that sign its transactions. */
export async function progressSignerOf(identity: NetworkIdentity): Promise<ProgressSigner> {
  const { signer, hash } = await loadIdentity(identity);
  return {
    mspId: identity.mspId,
    certificatePem: await readFile(identity.cert, 'utf8'),
    sign: (message) => signer(hash(message)),
  };
}

/**
 * Reports each epoch, signed with the node's identity, to the ProgressService of the gateway of the job
 * owner's org (gateways refuse unsigned reports and reports for trials the node does not hold). Best
 * effort by design: a report that fails or times out is logged and dropped, so training never waits on
 * or fails because of a gateway.
 */
export class GrpcProgressReporter implements ProgressSink {
  private readonly clients = new Map<string, ProgressServiceClient>();
  /** Owner orgs already logged as having no endpoint, so the log says it once, not every epoch. */
  private readonly unrouted = new Set<string>();

  constructor(
    private readonly routes: ProgressRoutes,
    private readonly node: { id: string; signer: ProgressSigner },
    private readonly log: (event: Record<string, unknown>) => void = () => undefined,
    private readonly timeoutMs = 2_000,
  ) {}

  private client(endpoint: string): ProgressServiceClient {
    let client = this.clients.get(endpoint);
    if (client === undefined) {
      const { Client } = loadProgressService();
      client = new Client(endpoint, grpc.credentials.createInsecure());
      this.clients.set(endpoint, client);
    }
    return client;
  }

  async report(progress: ProgressReport): Promise<void> {
    const endpoint = progressEndpointFor(this.routes, progress.ownerMspId);
    if (endpoint === undefined) {
      if (!this.unrouted.has(progress.ownerMspId)) {
        this.unrouted.add(progress.ownerMspId);
        this.log({ event: 'progress-not-routed', jobId: progress.jobId, ownerMspId: progress.ownerMspId });
      }
      return;
    }
    const message: EpochProgress = {
      jobId: progress.jobId,
      trialId: progress.trialId,
      epoch: progress.epoch,
      epochs: progress.epochs,
      metrics: Object.fromEntries(Object.entries(progress.metrics).filter(([, v]) => Number.isFinite(v))),
      nodeMspId: this.node.signer.mspId,
      nodeId: this.node.id,
      timestamp: new Date().toISOString(),
    };
    let signed;
    try {
      signed = await signProgress(message, this.node.signer);
    } catch (error) {
      this.log({ event: 'progress-not-reported', jobId: progress.jobId, error: (error as Error).message });
      return;
    }
    const client = this.client(endpoint);
    await new Promise<void>((resolve) => {
      client.Report(signed, { deadline: Date.now() + this.timeoutMs }, (error) => {
        if (error !== null)
          this.log({ event: 'progress-not-reported', jobId: progress.jobId, endpoint, error: error.message });
        resolve();
      });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
