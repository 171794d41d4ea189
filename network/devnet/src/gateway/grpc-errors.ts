import * as grpc from '@grpc/grpc-js';
import { gateway, google } from '@hyperledger/fabric-protos';
import { Any } from 'google-protobuf/google/protobuf/any_pb';
import { InvalidRequestError } from '../errors';

export interface NodeInfo {
  address: string;
  mspId: string;
}

/**
 * A gRPC error shaped like Fabric's gateway sends it: a status code, a summary message, and
 * gateway.ErrorDetail entries (which node, which MSP, what it said) in grpc-status-details-bin,
 * which fabric-gateway exposes as GatewayError.details.
 */
export function rpcError(
  code: grpc.status,
  message: string,
  node?: NodeInfo,
  detail?: string,
): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  const status = new google.rpc.Status();
  status.setCode(code);
  status.setMessage(message);
  if (node && detail !== undefined) {
    const errorDetail = new gateway.ErrorDetail();
    errorDetail.setAddress(node.address);
    errorDetail.setMspId(node.mspId);
    errorDetail.setMessage(detail);
    const any = new Any();
    any.pack(errorDetail.serializeBinary(), 'gateway.ErrorDetail');
    status.setDetailsList([any]);
  }
  metadata.set('grpc-status-details-bin', Buffer.from(status.serializeBinary()));
  return Object.assign(new Error(message), { code, details: message, metadata });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Maps an endorsement failure to the gateway's error: a malformed request is INVALID_ARGUMENT; a denied
 * identity or a chaincode failure is the given code with the endorser's message as ErrorDetail.
 */
export function endorsementError(
  err: unknown,
  node: NodeInfo,
  summary: string,
  code: grpc.status,
): grpc.ServiceError {
  if (err instanceof InvalidRequestError) return rpcError(grpc.status.INVALID_ARGUMENT, err.message);
  return rpcError(code, summary, node, messageOf(err));
}
