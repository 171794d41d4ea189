import { BullModule } from '@nestjs/bullmq';
import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';

import type { AppConfig } from './config/config.schema';
import { ConfigModule } from './config/config.module';
import { AuthController } from './controllers/auth.controller';
import { ClientConfigController } from './controllers/client-config.controller';
import { ConsortiumController } from './controllers/consortium.controller';
import { HealthController } from './controllers/health.controller';
import { JobController } from './controllers/job.controller';
import { LedgerController } from './controllers/ledger.controller';
import { UploadController } from './controllers/upload.controller';
import { HttpExceptionFilter } from './errors/http-exception.filter';
import { AuthGuard } from './middleware/auth.guard';
import { rateLimits } from './middleware/rate-limit';
import { RequestLogMiddleware } from './middleware/request-log.middleware';
import { AccountsRepository } from './repositories/accounts.repository';
import { AuditRepository } from './repositories/audit.repository';
import { DatasetRepository } from './repositories/dataset.repository';
import { LedgerRepository } from './repositories/ledger.repository';
import { MspRepository } from './repositories/msp.repository';
import { ProgressGrpcRepository } from './repositories/progress-grpc.repository';
import { QueueRepository } from './repositories/queue.repository';
import { RedisRepository } from './repositories/redis.repository';
import { SessionRepository } from './repositories/session.repository';
import { StorageRepository } from './repositories/storage.repository';
import { UploadRepository } from './repositories/upload.repository';
import { AuthService } from './services/auth.service';
import { ClientConfigService } from './services/client-config.service';
import { ConsortiumService } from './services/consortium.service';
import { IngestService } from './services/ingest.service';
import { DownloadService } from './services/download.service';
import { EventsService } from './services/events.service';
import { HealthService } from './services/health.service';
import { JobService } from './services/job.service';
import { JobViewService } from './services/job-view.service';
import { LedgerViewService } from './services/ledger-view.service';
import { MetricsService } from './services/metrics.service';
import { ProgressAuthService } from './services/progress-auth.service';
import { QueueName } from './services/queue.constants';
import { UploadService } from './services/upload.service';
import { IngestProcessor } from './workers/ingest.processor';

const repositories = [
  AccountsRepository,
  AuditRepository,
  DatasetRepository,
  LedgerRepository,
  MspRepository,
  ProgressGrpcRepository,
  QueueRepository,
  RedisRepository,
  SessionRepository,
  StorageRepository,
  UploadRepository,
];
const services = [
  AuthService,
  ClientConfigService,
  ConsortiumService,
  DownloadService,
  EventsService,
  HealthService,
  IngestService,
  JobService,
  JobViewService,
  LedgerViewService,
  MetricsService,
  ProgressAuthService,
  UploadService,
];

@Module({})
export class AppModule implements NestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        TerminusModule,
        ThrottlerModule.forRoot({ throttlers: rateLimits(config) }),
        BullModule.forRoot({
          connection: { url: config.redisUrl, maxRetriesPerRequest: null },
          // One gateway per org may share a Redis: queues are namespaced by org.
          prefix: `decenter:${config.org}:bull`,
        }),
        BullModule.registerQueue({ name: QueueName.Ingest }),
      ],
      controllers: [
        AuthController,
        ClientConfigController,
        ConsortiumController,
        HealthController,
        JobController,
        LedgerController,
        UploadController,
      ],
      providers: [
        ...repositories,
        ...services,
        IngestProcessor,
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        // Rate limits first, so refused sign-ins are limited too; then the session check.
        { provide: APP_GUARD, useClass: ThrottlerGuard },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestLogMiddleware).forRoutes('*path');
  }
}
