import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * Resolved through the package's own name so the path is right both from `src` (tests) and from
 * `dist/src` (built code), whose depths under the package root differ.
 */
const PACKAGE_ROOT = path.dirname(require.resolve('@decenter/proto/package.json'));

/** Absolute path of `decenter/progress.proto`. */
export const PROGRESS_PROTO_PATH = path.join(PACKAGE_ROOT, 'decenter', 'progress.proto');

/** Fully qualified service name, as gRPC clients and health checks spell it. */
export const PROGRESS_SERVICE_NAME = 'decenter.progress.v1.ProgressService';

/** One epoch's progress as the loader hands it over (proto field names, camel-cased). */
export interface EpochProgress {
  jobId: string;
  trialId: string;
  epoch: number;
  epochs: number;
  metrics: Record<string, number>;
  nodeMspId: string;
  nodeId: string;
  timestamp: string;
}

export interface ProgressAck {
  accepted: number;
}

/** Server handlers for `ProgressService`. */
export interface ProgressServiceHandlers extends grpc.UntypedServiceImplementation {
  Report: grpc.handleUnaryCall<EpochProgress, ProgressAck>;
  Stream: grpc.handleClientStreamingCall<EpochProgress, ProgressAck>;
}

/** Client of `ProgressService` (used by execution nodes). */
export interface ProgressServiceClient extends grpc.Client {
  Report(
    request: EpochProgress,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<ProgressAck>,
  ): grpc.ClientUnaryCall;
  Stream(
    options: grpc.CallOptions,
    callback: grpc.requestCallback<ProgressAck>,
  ): grpc.ClientWritableStream<EpochProgress>;
}

type ProgressClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => ProgressServiceClient;

export interface ProgressServiceDefinition {
  service: grpc.ServiceDefinition;
  Client: ProgressClientConstructor;
}

const LOADER_OPTIONS: protoLoader.Options = {
  // camelCase field names, numbers as JS numbers, empty maps present: no optional juggling for callers.
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Loads `progress.proto` with @grpc/proto-loader and returns the service definition and a client class. */
export function loadProgressService(): ProgressServiceDefinition {
  const definition = protoLoader.loadSync(PROGRESS_PROTO_PATH, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition);
  const ctor = lookup(loaded, PROGRESS_SERVICE_NAME.split('.'));
  if (typeof ctor !== 'function' || !('service' in ctor)) {
    throw new Error(
      `${PROGRESS_PROTO_PATH} does not define ${PROGRESS_SERVICE_NAME}; rebuild @decenter/proto`,
    );
  }
  const client = ctor as unknown as ProgressClientConstructor & { service: grpc.ServiceDefinition };
  return { service: client.service, Client: client };
}

function lookup(root: grpc.GrpcObject, segments: readonly string[]): unknown {
  let node: unknown = root;
  for (const segment of segments) {
    if (node === null || (typeof node !== 'object' && typeof node !== 'function')) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
