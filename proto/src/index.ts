import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';

/**
 * Resolved through the package's own name so the path is right both from `src` (tests) and from
 * `dist/src` (built code), whose depths under the package root differ.
 */
const PACKAGE_ROOT = path.dirname(require.resolve('@decenter/proto/package.json'));

/** Absolute path of `decenter/progress.proto`. */
export const PROGRESS_PROTO_PATH = path.join(PACKAGE_ROOT, 'decenter', 'progress.proto');

/** Fully qualified service name, as gRPC clients and health checks spell it. */
export const PROGRESS_SERVICE_NAME = 'decenter.progress.v2.ProgressService';

/**
 * What a progress signature covers comes after this prefix: a signature made for a report can then never
 * pass for one over another message the same key signs (ledger transactions are signed with it too).
 */
export const PROGRESS_SIGNATURE_DOMAIN = 'decenter.progress.v2.EpochProgress\n';

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

/** An `EpochProgress` as serialized bytes, signed by the reporting node's Fabric identity. */
export interface SignedProgress {
  /** `encodeEpochProgress(progress)`: exactly the bytes that were signed. */
  report: Uint8Array;
  mspId: string;
  /** PEM X.509 certificate of the signing identity. */
  certificate: Uint8Array;
  /** DER ECDSA signature over `progressSigningBytes(report)`. */
  signature: Uint8Array;
}

export interface ProgressAck {
  accepted: number;
}

/** Server handlers for `ProgressService`. */
export interface ProgressServiceHandlers extends grpc.UntypedServiceImplementation {
  Report: grpc.handleUnaryCall<SignedProgress, ProgressAck>;
  Stream: grpc.handleClientStreamingCall<SignedProgress, ProgressAck>;
}

/** Client of `ProgressService` (used by execution nodes). */
export interface ProgressServiceClient extends grpc.Client {
  Report(
    request: SignedProgress,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<ProgressAck>,
  ): grpc.ClientUnaryCall;
  Stream(
    options: grpc.CallOptions,
    callback: grpc.requestCallback<ProgressAck>,
  ): grpc.ClientWritableStream<SignedProgress>;
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

let epochProgressType: protobuf.Type | undefined;

/** The `EpochProgress` message type, parsed once from the same .proto file the service is loaded from. */
function epochProgress(): protobuf.Type {
  epochProgressType ??= protobuf
    .loadSync(PROGRESS_PROTO_PATH)
    .lookupType(PROGRESS_SERVICE_NAME.replace(/ProgressService$/, 'EpochProgress'));
  return epochProgressType;
}

/** Serializes a report: these bytes travel in `SignedProgress.report` and are what the node signs. */
export function encodeEpochProgress(progress: EpochProgress): Uint8Array {
  const type = epochProgress();
  const problem = type.verify(progress);
  if (problem !== null) throw new TypeError(`not an EpochProgress: ${problem}`);
  return type.encode(type.fromObject(progress)).finish();
}

/** Parses `SignedProgress.report`; throws on bytes that are not an EpochProgress. */
export function decodeEpochProgress(bytes: Uint8Array): EpochProgress {
  const type = epochProgress();
  const message = type.decode(bytes);
  // The same shape the gRPC loader gives (defaults filled in, numbers as numbers).
  return type.toObject(message, { longs: Number, defaults: true, objects: true }) as EpochProgress;
}

/** The bytes a progress signature covers: the domain prefix, then the serialized report. */
export function progressSigningBytes(report: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(PROGRESS_SIGNATURE_DOMAIN, 'utf8'), report]);
}

/** A node identity able to sign progress: its MSP, certificate and a signature function. */
export interface ProgressSigner {
  mspId: string;
  certificatePem: string;
  /** Returns a DER ECDSA signature over `message` (SHA-256 of it), as the node signs for the ledger. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Serializes and signs one report. */
export async function signProgress(progress: EpochProgress, signer: ProgressSigner): Promise<SignedProgress> {
  const report = encodeEpochProgress(progress);
  return {
    report,
    mspId: signer.mspId,
    certificate: Buffer.from(signer.certificatePem, 'utf8'),
    signature: await signer.sign(progressSigningBytes(report)),
  };
}

function lookup(root: grpc.GrpcObject, segments: readonly string[]): unknown {
  let node: unknown = root;
  for (const segment of segments) {
    if (node === null || (typeof node !== 'object' && typeof node !== 'function')) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
