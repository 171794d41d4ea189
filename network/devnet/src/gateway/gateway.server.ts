import * as grpc from '@grpc/grpc-js';
import { gateway, orderer, peer } from '@hyperledger/fabric-protos';
import { AccessDeniedError, InvalidRequestError } from '../errors';
import type { MspRegistry } from '../identity/msp.registry';
import type { CommitterService } from '../ledger/committer.service';
import type { LedgerRepository } from '../ledger/ledger.repository';
import type { EndorserService } from './endorser.service';
import type { StreamRegistry } from './stream.registry';
import type { TransactionValidator } from './transaction.validator';
import { endorsementError, rpcError, type NodeInfo } from './grpc-errors';

// Fabric's shim.ERRORTHRESHOLD: a chaincode response at or above it is an error, never endorsed.
const ERROR_THRESHOLD = 400;

export interface GatewayDeps {
  channel: string;
  node: NodeInfo;
  msp: MspRegistry;
  endorser: EndorserService;
  validator: TransactionValidator;
  committer: CommitterService;
  repo: LedgerRepository;
  streams: StreamRegistry;
}

function chaincodeFailure(response: peer.Response): Error {
  return new Error(`chaincode response ${response.getStatus().toString()}, ${response.getMessage()}`);
}

/** Implements gateway.Gateway (Endorse, Submit, CommitStatus, Evaluate, ChaincodeEvents). */
export class GatewayServer {
  constructor(private readonly deps: GatewayDeps) {}

  /** The handlers in the shape grpc-js's Server.addService takes. */
  implementation(): gateway.IGatewayServer {
    return {
      endorse: this.endorse,
      submit: this.submit,
      commitStatus: this.commitStatus,
      evaluate: this.evaluate,
      chaincodeEvents: this.chaincodeEvents,
    };
  }

  evaluate: grpc.handleUnaryCall<gateway.EvaluateRequest, gateway.EvaluateResponse> = (call, callback) => {
    const { endorser, node } = this.deps;
    const run = async () => {
      const parsed = await endorser.parse(call.request.getProposedTransaction());
      const { response } = await endorser.simulate(parsed);
      const status = response.getStatus();
      if (status < 200 || status >= ERROR_THRESHOLD) throw chaincodeFailure(response);
      const result = new gateway.EvaluateResponse();
      result.setResult(response);
      return result;
    };
    run().then(
      (result) => {
        callback(null, result);
      },
      (err: unknown) => {
        const message = `evaluate call to endorser returned error: ${err instanceof Error ? err.message : String(err)}`;
        callback(endorsementError(err, node, message, grpc.status.UNKNOWN));
      },
    );
  };

  endorse: grpc.handleUnaryCall<gateway.EndorseRequest, gateway.EndorseResponse> = (call, callback) => {
    const { endorser, node } = this.deps;
    const run = async () => {
      const parsed = await endorser.parse(call.request.getProposedTransaction());
      endorser.checkNotDuplicate(parsed.txId);
      const simulation = await endorser.simulate(parsed);
      const status = simulation.response.getStatus();
      if (status < 200 || status >= ERROR_THRESHOLD) throw chaincodeFailure(simulation.response);
      const result = new gateway.EndorseResponse();
      result.setPreparedTransaction(endorser.endorse(parsed, simulation));
      return result;
    };
    endorser.track(run).then(
      (result) => {
        callback(null, result);
      },
      (err: unknown) => {
        const summary = 'failed to endorse transaction, see attached details for more info';
        callback(endorsementError(err, node, summary, grpc.status.ABORTED));
      },
    );
  };

  submit: grpc.handleUnaryCall<gateway.SubmitRequest, gateway.SubmitResponse> = (call, callback) => {
    this.order(call.request).then(
      () => {
        callback(null, new gateway.SubmitResponse());
      },
      (err: unknown) => {
        if (err instanceof InvalidRequestError) {
          callback(rpcError(grpc.status.INVALID_ARGUMENT, err.message));
          return;
        }
        const status = err instanceof AccessDeniedError ? 'FORBIDDEN' : 'BAD_REQUEST';
        const message = err instanceof Error ? err.message : String(err);
        callback(
          rpcError(
            grpc.status.ABORTED,
            `received unsuccessful response from orderer: status=${status}, info=${message}`,
            this.deps.node,
            message,
          ),
        );
      },
    );
  };

  /** Checks the client's envelope and the endorsement, then hands the transaction to ordering. */
  private async order(request: gateway.SubmitRequest): Promise<void> {
    const envelope = request.getPreparedTransaction();
    if (!envelope) throw new InvalidRequestError('a prepared transaction is required');
    if (request.getChannelId() !== this.deps.channel) {
      throw new InvalidRequestError(`channel '${request.getChannelId()}' not found`);
    }
    this.deps.committer.enqueue(await this.deps.validator.validate(envelope, request.getTransactionId()));
  }

  commitStatus: grpc.handleUnaryCall<gateway.SignedCommitStatusRequest, gateway.CommitStatusResponse> = (
    call,
    callback,
  ) => {
    const abort = new AbortController();
    call.on('cancelled', () => {
      abort.abort();
    });
    const run = async () => {
      const requestBytes = call.request.getRequest_asU8();
      const request = gateway.CommitStatusRequest.deserializeBinary(requestBytes);
      if (request.getChannelId() !== this.deps.channel) {
        throw new InvalidRequestError(`channel '${request.getChannelId()}' not found`);
      }
      await this.deps.msp.authenticate(
        request.getIdentity_asU8(),
        requestBytes,
        call.request.getSignature_asU8(),
      );
      const entry = await this.deps.committer.waitForCommit(request.getTransactionId(), abort.signal);
      const response = new gateway.CommitStatusResponse();
      response.setResult(entry.code as peer.TxValidationCodeMap[keyof peer.TxValidationCodeMap]);
      response.setBlockNumber(entry.blockNum);
      return response;
    };
    run().then(
      (response) => {
        callback(null, response);
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        callback(this.requestError(err));
      },
    );
  };

  private requestError(err: unknown): grpc.ServiceError {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof AccessDeniedError) return rpcError(grpc.status.PERMISSION_DENIED, message);
    if (err instanceof InvalidRequestError) return rpcError(grpc.status.INVALID_ARGUMENT, message);
    return rpcError(grpc.status.UNAVAILABLE, message);
  }

  chaincodeEvents: grpc.handleServerStreamingCall<
    gateway.SignedChaincodeEventsRequest,
    gateway.ChaincodeEventsResponse
  > = (call) => {
    this.deps.streams.add(call);
    this.streamEvents(call).catch((err: unknown) => {
      if (!call.cancelled) call.destroy(this.requestError(err));
    });
  };

  private startBlock(position: orderer.SeekPosition | undefined): number {
    const height = this.deps.committer.height();
    if (!position) return height;
    switch (position.getTypeCase()) {
      case orderer.SeekPosition.TypeCase.OLDEST:
        return 0;
      case orderer.SeekPosition.TypeCase.NEWEST:
        return Math.max(height - 1, 0);
      case orderer.SeekPosition.TypeCase.SPECIFIED:
        return position.getSpecified()?.getNumber() ?? height;
      default:
        return height;
    }
  }

  /** Streams the chaincode's events block by block: first replaying committed blocks, then live. */
  private async streamEvents(
    call: grpc.ServerWritableStream<gateway.SignedChaincodeEventsRequest, gateway.ChaincodeEventsResponse>,
  ): Promise<void> {
    const requestBytes = call.request.getRequest_asU8();
    const request = gateway.ChaincodeEventsRequest.deserializeBinary(requestBytes);
    if (request.getChannelId() !== this.deps.channel) {
      throw new InvalidRequestError(`channel '${request.getChannelId()}' not found`);
    }
    await this.deps.msp.authenticate(
      request.getIdentity_asU8(),
      requestBytes,
      call.request.getSignature_asU8(),
    );
    const chaincode = request.getChaincodeId();
    let next = this.startBlock(request.getStartPosition());
    let skipUntil = request.getAfterTransactionId();
    let wake: (() => void) | null = null;
    const unsubscribe = this.deps.committer.onBlock(() => wake?.());
    const cancelled = new Promise<void>((resolve) => call.on('cancelled', resolve));
    try {
      while (!call.cancelled) {
        if (next >= this.deps.committer.height()) {
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), cancelled]);
          wake = null;
          continue;
        }
        const stored = await this.deps.repo.getBlockEvents(next);
        let events = (stored?.getEventsList() ?? []).filter((event) => event.getChaincodeId() === chaincode);
        if (skipUntil !== '') {
          const index = events.findIndex((event) => event.getTxId() === skipUntil);
          if (index >= 0) events = events.slice(index + 1);
          skipUntil = '';
        }
        if (events.length > 0) {
          const response = new gateway.ChaincodeEventsResponse();
          response.setBlockNumber(next);
          response.setEventsList(events);
          if (!call.write(response))
            await Promise.race([new Promise((resolve) => call.once('drain', resolve)), cancelled]);
        }
        next += 1;
      }
    } finally {
      unsubscribe();
    }
  }
}
