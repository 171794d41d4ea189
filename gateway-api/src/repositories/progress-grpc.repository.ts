import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { loadProgressService, type ProgressServiceHandlers, type SignedProgress } from '@decenter/proto';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import type { ProgressRefusal } from '../services/progress-auth.service';

const STATUS: Record<ProgressRefusal, grpc.status> = {
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
};

/** Handles one signed report; throws an error with a `refusal` to answer with that gRPC status. */
export type ProgressHandler = (signed: SignedProgress) => Promise<void>;

function serviceError(error: unknown): grpc.ServiceError {
  const refusal = (error as { refusal?: unknown }).refusal;
  const code =
    typeof refusal === 'string' && refusal in STATUS
      ? STATUS[refusal as ProgressRefusal]
      : grpc.status.INTERNAL;
  const message = error instanceof Error ? error.message : String(error);
  const hint = (error as { hint?: unknown }).hint;
  const details = typeof hint === 'string' ? `${message}. ${hint}` : message;
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

/** The gRPC server execution nodes report signed epoch progress to (proto/decenter/progress.proto). */
@Injectable()
export class ProgressGrpcRepository implements OnModuleDestroy {
  private readonly logger = new Logger(ProgressGrpcRepository.name);
  private server: grpc.Server | undefined;
  /** The port actually bound (GRPC_PORT, or the one the OS chose for 0). */
  port = 0;

  constructor(@Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'host' | 'grpcPort'>) {}

  async start(onReport: ProgressHandler): Promise<number> {
    const { service } = loadProgressService();
    const refused = (error: unknown): grpc.ServiceError => {
      const answer = serviceError(error);
      if (answer.code === grpc.status.INTERNAL)
        this.logger.error(`Progress report failed: ${answer.message}`);
      else this.logger.warn(`Progress report refused: ${answer.message}`);
      return answer;
    };
    const handlers: ProgressServiceHandlers = {
      Report: (call, callback) => {
        onReport(call.request).then(
          () => {
            callback(null, { accepted: 1 });
          },
          (error: unknown) => {
            callback(refused(error));
          },
        );
      },
      Stream: (call, callback) => {
        let accepted = 0;
        let answered = false;
        // Reports of one stream are checked in order; the first refusal ends the call.
        let chain = Promise.resolve();
        call.on('data', (signed: SignedProgress) => {
          chain = chain.then(async () => {
            if (answered) return;
            try {
              await onReport(signed);
              accepted += 1;
            } catch (error) {
              answered = true;
              callback(refused(error));
            }
          });
        });
        call.on('end', () => {
          void chain.then(() => {
            if (answered) return;
            answered = true;
            callback(null, { accepted });
          });
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
