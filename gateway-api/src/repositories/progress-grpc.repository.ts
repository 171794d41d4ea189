import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { loadProgressService, type EpochProgress, type ProgressServiceHandlers } from '@decenter/proto';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';

/** Checks a report at the edge; returns what is wrong with it, or undefined. */
export function progressProblem(progress: EpochProgress): string | undefined {
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(progress.jobId)) return 'job_id must be a job id';
  if (progress.trialId.length === 0 || progress.trialId.length > 128)
    return 'trial_id must be 1-128 characters';
  if (progress.epoch < 1 || (progress.epochs > 0 && progress.epoch > progress.epochs))
    return 'epoch out of range';
  const names = Object.keys(progress.metrics);
  if (names.length > 64 || names.some((name) => name.length > 64)) return 'too many or too long metric names';
  if (Object.values(progress.metrics).some((value) => !Number.isFinite(value)))
    return 'metrics must be finite';
  return undefined;
}

/** The gRPC server execution nodes report epoch progress to (proto/decenter/progress.proto). */
@Injectable()
export class ProgressGrpcRepository implements OnModuleDestroy {
  private readonly logger = new Logger(ProgressGrpcRepository.name);
  private server: grpc.Server | undefined;
  /** The port actually bound (GRPC_PORT, or the one the OS chose for 0). */
  port = 0;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async start(onProgress: (progress: EpochProgress) => void): Promise<number> {
    const { service } = loadProgressService();
    const accept = (progress: EpochProgress): grpc.ServiceError | undefined => {
      const problem = progressProblem(progress);
      if (problem === undefined) {
        onProgress(progress);
        return undefined;
      }
      return Object.assign(new Error(`Invalid progress report: ${problem}`), {
        code: grpc.status.INVALID_ARGUMENT,
        details: problem,
        metadata: new grpc.Metadata(),
      });
    };
    const handlers: ProgressServiceHandlers = {
      Report: (call, callback) => {
        const error = accept(call.request);
        if (error === undefined) callback(null, { accepted: 1 });
        else callback(error);
      },
      Stream: (call, callback) => {
        let accepted = 0;
        let failed: grpc.ServiceError | undefined;
        call.on('data', (progress: EpochProgress) => {
          const error = accept(progress);
          if (error === undefined) accepted += 1;
          else failed ??= error;
        });
        call.on('end', () => {
          if (failed === undefined) callback(null, { accepted });
          else callback(failed);
        });
      },
    };
    const server = new grpc.Server();
    server.addService(service, handlers);
    this.port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        `${this.config.host}:${String(this.config.grpcPort)}`,
        grpc.ServerCredentials.createInsecure(),
        (error, port) => {
          if (error) reject(error);
          else resolve(port);
        },
      );
    });
    this.server = server;
    this.logger.log(`Progress service listening on ${this.config.host}:${String(this.port)}`);
    return this.port;
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.tryShutdown(() => {
        resolve();
      });
      // Streams left open by nodes must not hold the gateway's shutdown.
      setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000).unref();
    });
  }
}
