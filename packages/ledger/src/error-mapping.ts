import { status as GrpcStatus } from '@grpc/grpc-js';
import { CommitError, GatewayError, StatusCode, type ErrorDetail } from '@hyperledger/fabric-gateway';
import { DecenterError } from '@decenter/core';

import {
  AccessDeniedError,
  ConflictError,
  FailedPreconditionError,
  invalidArgument,
  LedgerError,
  LedgerIntegrityError,
  LedgerUnavailableError,
  NotFoundError,
} from './ledger.errors';

/**
 * Codes the DeCenter chaincode puts in front of every error message (`ACCESS_DENIED: ...`). Fabric hands
 * clients only the message text, so this prefix is the one stable contract to branch on.
 */
export const CHAINCODE_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'ACCESS_DENIED',
  'INVALID_STATE',
  'QUORUM_NOT_REACHED',
  'SOULBOUND',
  'CORRUPT_STATE',
] as const;
export type ChaincodeErrorCode = (typeof CHAINCODE_ERROR_CODES)[number];

// gRPC status codes as plain numbers: GatewayError.code is a number, not grpc-js's enum.
const UNAVAILABLE: number = GrpcStatus.UNAVAILABLE;
const DEADLINE_EXCEEDED: number = GrpcStatus.DEADLINE_EXCEEDED;
const PERMISSION_DENIED: number = GrpcStatus.PERMISSION_DENIED;
const UNAUTHENTICATED: number = GrpcStatus.UNAUTHENTICATED;
const GRPC_NOT_FOUND: number = GrpcStatus.NOT_FOUND;

const CHAINCODE_ERROR = new RegExp(`\\b(${CHAINCODE_ERROR_CODES.join('|')}): ([^]*)$`);

export interface ChaincodeFailure {
  code: ChaincodeErrorCode;
  message: string;
}

/** Finds the chaincode's coded message in a peer's error text (`chaincode response 500, NOT_FOUND: ...`). */
export function parseChaincodeMessage(text: string): ChaincodeFailure | undefined {
  const match = CHAINCODE_ERROR.exec(text);
  if (!match) return undefined;
  return { code: match[1] as ChaincodeErrorCode, message: (match[2] ?? '').trim() };
}

function chaincodeFailureOf(err: GatewayError): ChaincodeFailure | undefined {
  const details: readonly ErrorDetail[] = err.details;
  for (const detail of details) {
    const failure = parseChaincodeMessage(detail.message);
    if (failure) return failure;
  }
  return parseChaincodeMessage(err.message);
}

/**
 * How a Fabric peer's endorser words every refusal of a proposal's creator before any chaincode runs
 * (core/endorser: `error validating proposal: access denied`); the devnet's endorser says the same and
 * adds its reason. Fabric's gateway passes it on as gRPC UNKNOWN (evaluate) or ABORTED (endorse) with the
 * text in the error details, so the text is all a client gets; no chaincode message starts with it.
 */
const PROPOSAL_REFUSED = 'error validating proposal';

/** Which right the peer found missing, from its reason where it gives one (real Fabric only says "access denied"). */
function missingRight(reason: string): string {
  if (/not issued by a CA|not a member of this consortium|unknown authority/i.test(reason)) {
    return 'certificate not issued by a consortium CA';
  }
  if (/expired/i.test(reason)) return 'certificate has expired';
  if (/signature/i.test(reason)) return "signature does not match the certificate's key";
  return 'identity not accepted by the channel (certificate not issued by a consortium CA, expired, or signed with another key)';
}

/** The peer's words when it refused the proposal's creator, else undefined. */
function proposalRefusalOf(err: GatewayError): string | undefined {
  const said = [...err.details.map((detail) => detail.message), err.message];
  const refusal = said.find((text) => text.includes(PROPOSAL_REFUSED));
  return refusal?.slice(refusal.indexOf(PROPOSAL_REFUSED));
}

function transactionIdOf(err: unknown): string | undefined {
  if (err instanceof CommitError) return err.transactionId;
  if (err instanceof GatewayError && 'transactionId' in err && typeof err.transactionId === 'string') {
    return err.transactionId;
  }
  return undefined;
}

function fromChaincode(
  failure: ChaincodeFailure,
  transaction: string,
  cause: unknown,
  transactionId?: string,
): DecenterError {
  const options = { cause, chaincodeCode: failure.code, transactionId };
  const message = `${transaction}: ${failure.message}`;
  switch (failure.code) {
    case 'INVALID_ARGUMENT':
      return invalidArgument(failure.message, options);
    case 'NOT_FOUND':
      return new NotFoundError(message, options);
    case 'ALREADY_EXISTS':
      return new ConflictError(message, { ...options, hint: 'Use another id, or read the existing record.' });
    case 'ACCESS_DENIED':
      return new AccessDeniedError(message, options);
    case 'INVALID_STATE':
    case 'QUORUM_NOT_REACHED':
    case 'SOULBOUND':
      return new FailedPreconditionError(message, options);
    case 'CORRUPT_STATE':
      return new LedgerIntegrityError(message, options);
  }
}

/**
 * Turns whatever a fabric-gateway call threw into a domain error. Branches on the error classes and the
 * gRPC / validation codes; only the chaincode's own coded prefix is read from message text.
 */
export function toDomainError(err: unknown, transaction: string): DecenterError {
  if (err instanceof DecenterError) return err;
  const transactionId = transactionIdOf(err);
  if (err instanceof CommitError) {
    if (err.code === StatusCode.MVCC_READ_CONFLICT || err.code === StatusCode.PHANTOM_READ_CONFLICT) {
      return new ConflictError(
        `${transaction} kept conflicting with concurrent transactions: ${err.message}`,
        {
          cause: err,
          transactionId,
        },
      );
    }
    return new LedgerError('FAILED_PRECONDITION', `${transaction} was not committed: ${err.message}`, {
      cause: err,
      transactionId,
      hint: 'The peer rejected the transaction at commit; check the peer log for the reason.',
    });
  }
  if (err instanceof GatewayError) {
    const failure = chaincodeFailureOf(err);
    if (failure) return fromChaincode(failure, transaction, err, transactionId);
    const refusal = proposalRefusalOf(err);
    if (refusal !== undefined) {
      return new AccessDeniedError(
        `${transaction}: permission denied: ${missingRight(refusal)} (the peer said: ${refusal})`,
        {
          cause: err,
          transactionId,
          hint: "Sign with an identity enrolled by your org's CA in this consortium (network.json lists them); the peer refuses any other certificate before a chaincode runs.",
        },
      );
    }
    switch (err.code) {
      case UNAVAILABLE:
        return new LedgerUnavailableError(`${transaction}: the peer is unavailable (${err.message})`, {
          cause: err,
          transactionId,
        });
      case DEADLINE_EXCEEDED:
        return new LedgerUnavailableError(`${transaction}: the peer did not answer in time`, {
          cause: err,
          transactionId,
          timeout: true,
        });
      case PERMISSION_DENIED:
      case UNAUTHENTICATED:
        return new AccessDeniedError(`${transaction}: the peer refused this identity (${err.message})`, {
          cause: err,
          transactionId,
          hint: 'Use an identity issued by a consortium member (see network.json), with its own key.',
        });
      case GRPC_NOT_FOUND:
        return new LedgerError('NOT_FOUND', `${transaction}: ${err.message}`, {
          cause: err,
          transactionId,
          hint: 'The channel or chaincode is not deployed on this peer; check network.json.',
        });
      default: {
        // The peers' own words say what went wrong; the summary alone often just points at them.
        const said = err.details.map((detail) => `${detail.mspId} ${detail.address}: ${detail.message}`);
        const reason = said.length === 0 ? err.message : `${err.message} (${said.join('; ')})`;
        return new LedgerError('INTERNAL', `${transaction} failed: ${reason}`, { cause: err, transactionId });
      }
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LedgerError('INTERNAL', `${transaction} failed: ${message}`, { cause: err });
}
