import { EventEmitter } from 'node:events';

import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { EpochProgress } from '@decenter/proto';
import type { LedgerEvent } from '@decenter/ledger';
import { Observable } from 'rxjs';

import { ProgressGrpcRepository } from '../repositories/progress-grpc.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AccountsRepository } from '../repositories/accounts.repository';
import { MetricsService } from './metrics.service';

/** One server-sent event: `type` becomes the SSE event name. */
export interface JobStreamEvent {
  type: 'ledger' | 'progress' | 'ingest';
  data: Record<string, unknown>;
}

/**
 * Fans ledger chaincode events and node progress reports out to the SSE streams of the jobs they
 * concern. In memory: a stream only sees what happens while it is open (the ledger holds the history).
 */
@Injectable()
export class EventsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(EventsService.name);
  private readonly bus = new EventEmitter();

  constructor(
    private readonly grpc: ProgressGrpcRepository,
    private readonly ledger: LedgerRepository,
    private readonly accounts: AccountsRepository,
    private readonly metrics: MetricsService,
  ) {
    // Each SSE client adds one listener; the count is bounded by connections, not by a fixed 10.
    this.bus.setMaxListeners(0);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.grpc.start((progress) => {
      this.publishProgress(progress);
    });
    await this.followLedger();
  }

  private async followLedger(): Promise<void> {
    // Events are channel-wide; any identity of the org may follow them. Who may see a job is checked per stream.
    const identity = (await this.accounts.readOrgIdentities())[0];
    if (identity === undefined) {
      this.logger.warn('No identity in network.json yet: ledger events are not relayed.');
      return;
    }
    await this.ledger.followEvents(identity, (event) => {
      this.publishLedger(event);
    });
  }

  publishLedger(event: LedgerEvent): void {
    const payload = event.payload;
    const jobId =
      payload !== null && typeof payload === 'object'
        ? (payload as Record<string, unknown>)['jobId']
        : undefined;
    if (typeof jobId !== 'string') return;
    this.emit(jobId, {
      type: 'ledger',
      data: {
        name: event.name,
        blockNumber: event.blockNumber.toString(),
        transactionId: event.transactionId,
        payload,
      },
    });
  }

  publishProgress(progress: EpochProgress): void {
    this.emit(progress.jobId, { type: 'progress', data: { ...progress } });
  }

  publishIngest(jobId: string, data: Record<string, unknown>): void {
    this.emit(jobId, { type: 'ingest', data });
  }

  private emit(jobId: string, event: JobStreamEvent): void {
    this.bus.emit(`job:${jobId}`, event);
  }

  /** Events of one job as they happen, until the subscriber leaves. */
  stream(jobId: string): Observable<JobStreamEvent> {
    return new Observable<JobStreamEvent>((subscriber) => {
      const listener = (event: JobStreamEvent) => {
        subscriber.next(event);
      };
      this.bus.on(`job:${jobId}`, listener);
      this.metrics.sseClients.inc();
      return () => {
        this.bus.off(`job:${jobId}`, listener);
        this.metrics.sseClients.dec();
      };
    });
  }
}
