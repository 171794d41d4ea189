import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of this gateway; one registry per instance so tests can run several gateways. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'decenter_gateway_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly uploadsStarted = new Counter({
    name: 'decenter_gateway_uploads_started_total',
    help: 'tus uploads created',
    registers: [this.registry],
  });
  readonly uploadsCompleted = new Counter({
    name: 'decenter_gateway_uploads_completed_total',
    help: 'tus uploads completed with a matching digest',
    registers: [this.registry],
  });
  readonly uploadsRejected = new Counter({
    name: 'decenter_gateway_uploads_rejected_total',
    help: 'tus uploads refused at completion',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly uploadedBytes = new Counter({
    name: 'decenter_gateway_uploaded_bytes_total',
    help: 'Bytes of completed uploads',
    registers: [this.registry],
  });
  readonly ingestJobs = new Counter({
    name: 'decenter_gateway_ingest_jobs_total',
    help: 'Ingest jobs by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly sseClients = new Gauge({
    name: 'decenter_gateway_sse_clients',
    help: 'Open server-sent-event streams',
    registers: [this.registry],
  });

  /**
   * Progress reports from execution nodes: `outcome` is accepted or the refusal (UNAUTHENTICATED,
   * PERMISSION_DENIED...); `msp` is the verified org of an accepted report's node, and "unverified" for a
   * refused one (whatever a refused report claims is not a label: it would let anyone add series).
   */
  readonly progressReports = new Counter({
    name: 'decenter_gateway_progress_reports_total',
    help: 'Signed progress reports from execution nodes by outcome and verified node org',
    labelNames: ['outcome', 'msp'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'decenter_gateway_' });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
