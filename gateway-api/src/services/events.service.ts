import { EventEmitter } from 'node:events';

import { Injectable, Logger, type MessageEvent, type OnApplicationBootstrap } from '@nestjs/common';
import type { EpochProgress } from '@decenter/proto';
import type { LedgerEvent } from '@decenter/ledger';
import { concat, interval, map, merge, Observable, of } from 'rxjs';

import { ProgressGrpcRepository } from '../repositories/progress-grpc.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AccountsRepository } from '../repositories/accounts.repository';
import { MetricsService } from './metrics.service';
import { ProgressAuthService, ProgressRefusedError } from './progress-auth.service';

/**
 * Proxies and load balancers commonly close a connection after 30-60 s without a byte; a comment line
 * every 15 s keeps an idle stream open, and EventSource ignores comments.
 */
export const SSE_KEEP_ALIVE_MS = 15_000;

/** What the keep-alive sends: an SSE comment (`: keep-alive`), never an event. */
export const KEEP_ALIVE: MessageEvent = { comment: 'keep-alive' };

/** `events` with a keep-alive comment every `everyMs`; unsubscribing stops both. */
export function withKeepAlive(
  events: Observable<MessageEvent>,
  everyMs: number = SSE_KEEP_ALIVE_MS,
): Observable<MessageEvent> {
  return merge(events, interval(everyMs).pipe(map(() => KEEP_ALIVE)));
}

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
  /** How often an SSE stream gets a keep-alive comment. */
  keepAliveMs = SSE_KEEP_ALIVE_MS;

  constructor(
    private readonly grpc: ProgressGrpcRepository,
    private readonly progressAuth: ProgressAuthService,
    private readonly ledger: LedgerRepository,
    private readonly accounts: AccountsRepository,
    private readonly metrics: MetricsService,
  ) {
    // Each SSE client adds one listener; the count is bounded by connections, not by a fixed 10.
    this.bus.setMaxListeners(0);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Only reports signed by the node that holds the trial reach subscribers (see ProgressAuthService).
    await this.grpc.start(async (signed) => {
      let progress: EpochProgress;
      try {
        progress = await this.progressAuth.authenticate(signed);
      } catch (error) {
        const outcome = error instanceof ProgressRefusedError ? error.refusal : 'INTERNAL';
        this.metrics.progressReports.inc({ outcome, msp: 'unverified' });
        throw error;
      }
      this.metrics.progressReports.inc({ outcome: 'accepted', msp: progress.nodeMspId });
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

  /** Subscribers of one job's stream right now (each open SSE connection is one). */
  listenerCount(jobId: string): number {
    return this.bus.listenerCount(`job:${jobId}`);
  }

  private emit(jobId: string, event: JobStreamEvent): void {
    this.bus.emit(`job:${jobId}`, event);
  }

  /**
   * One job's SSE stream: `first` (the job as the ledger has it), then its events as they happen, with a
   * keep-alive comment while idle. Nest unsubscribes when the client disconnects, which removes the bus
   * listener and stops the keep-alive timer: nothing outlives the connection.
   */
  sse(jobId: string, first: MessageEvent): Observable<MessageEvent> {
    return withKeepAlive(
      concat(
        of(first),
        this.stream(jobId).pipe(map((event): MessageEvent => ({ type: event.type, data: event.data }))),
      ),
      this.keepAliveMs,
    );
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
