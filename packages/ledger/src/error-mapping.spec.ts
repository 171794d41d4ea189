import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { CommitError, EndorseError, GatewayError, StatusCode } from '@hyperledger/fabric-gateway';
import { ValidationError } from '@decenter/core';

import { parseChaincodeMessage, toDomainError } from './error-mapping';
import {
  AccessDeniedError,
  ConflictError,
  FailedPreconditionError,
  LedgerError,
  LedgerUnavailableError,
  NotFoundError,
} from './ledger.errors';

function serviceError(code: GrpcStatus, message: string): ServiceError {
  return Object.assign(new Error(message), { code, details: message, metadata: new Metadata() });
}

function endorseError(message: string, detail: string): EndorseError {
  return new EndorseError({
    code: GrpcStatus.ABORTED,
    details: [{ address: 'peer0:7051', mspId: 'Org1MSP', message: detail }],
    cause: serviceError(GrpcStatus.ABORTED, message),
    transactionId: 'tx-1',
    message,
  });
}

describe('parseChaincodeMessage', () => {
  it('finds the coded prefix inside a peer message', () => {
    expect(parseChaincodeMessage('chaincode response 500, NOT_FOUND: job "j1" does not exist')).toEqual({
      code: 'NOT_FOUND',
      message: 'job "j1" does not exist',
    });
  });

  it('ignores text without a known code', () => {
    expect(parseChaincodeMessage('chaincode response 500, BOOM: no')).toBeUndefined();
  });
});

describe('toDomainError', () => {
  it('maps a chaincode ACCESS_DENIED from endorsement details to AccessDeniedError', () => {
    const err = toDomainError(
      endorseError(
        'failed to endorse transaction',
        'chaincode response 500, ACCESS_DENIED: reserved to the owner',
      ),
      'CancelJob',
    );
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toBe('CancelJob: reserved to the owner');
    expect(err).toMatchObject({ chaincodeCode: 'ACCESS_DENIED', transactionId: 'tx-1' });
    expect(err.hint).toMatch(/--identity/);
  });

  it('reads the code from the error message when details are empty (evaluate)', () => {
    const gatewayError = new GatewayError({
      code: GrpcStatus.UNKNOWN,
      details: [],
      cause: serviceError(GrpcStatus.UNKNOWN, 'x'),
      message: 'evaluate call to endorser returned error: NOT_FOUND: job "j9" does not exist',
    });
    const err = toDomainError(gatewayError, 'GetJob');
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.code).toBe('NOT_FOUND');
  });

  it('maps INVALID_ARGUMENT to a ValidationError naming the field', () => {
    const err = toDomainError(
      endorseError('x', 'chaincode response 500, INVALID_ARGUMENT: job.specHash must be a SHA-256 hash'),
      'CreateJob',
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ issues: [{ path: 'job.specHash', message: 'must be a SHA-256 hash' }] });
  });

  it.each([
    ['ALREADY_EXISTS', ConflictError, 'CONFLICT'],
    ['INVALID_STATE', FailedPreconditionError, 'FAILED_PRECONDITION'],
    ['SOULBOUND', FailedPreconditionError, 'FAILED_PRECONDITION'],
  ] as const)('maps %s to %p', (code, type, domainCode) => {
    const err = toDomainError(endorseError('x', `chaincode response 500, ${code}: nope`), 'Tx');
    expect(err).toBeInstanceOf(type);
    expect(err.code).toBe(domainCode);
  });

  it('maps an MVCC conflict that outlived its retries to ConflictError', () => {
    const err = toDomainError(
      new CommitError({ code: StatusCode.MVCC_READ_CONFLICT, transactionId: 'tx-9', message: 'mvcc' }),
      'ClaimTrial',
    );
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ transactionId: 'tx-9' });
  });

  it('maps another commit failure to FAILED_PRECONDITION, not a conflict', () => {
    const err = toDomainError(
      new CommitError({
        code: StatusCode.ENDORSEMENT_POLICY_FAILURE,
        transactionId: 'tx-2',
        message: 'policy',
      }),
      'CreateJob',
    );
    expect(err).not.toBeInstanceOf(ConflictError);
    expect(err.code).toBe('FAILED_PRECONDITION');
  });

  it('maps UNAVAILABLE and DEADLINE_EXCEEDED to LedgerUnavailableError', () => {
    const down = new GatewayError({
      code: GrpcStatus.UNAVAILABLE,
      details: [],
      cause: serviceError(GrpcStatus.UNAVAILABLE, 'No connection established'),
    });
    const slow = new GatewayError({
      code: GrpcStatus.DEADLINE_EXCEEDED,
      details: [],
      cause: serviceError(GrpcStatus.DEADLINE_EXCEEDED, 'deadline'),
    });
    expect(toDomainError(down, 'GetJob')).toBeInstanceOf(LedgerUnavailableError);
    expect(toDomainError(down, 'GetJob').code).toBe('UNAVAILABLE');
    expect(toDomainError(slow, 'GetJob').code).toBe('TIMEOUT');
  });

  it('maps a refused identity to AccessDeniedError', () => {
    const refused = new GatewayError({
      code: GrpcStatus.PERMISSION_DENIED,
      details: [],
      cause: serviceError(GrpcStatus.PERMISSION_DENIED, 'unknown MSP'),
    });
    expect(toDomainError(refused, 'GetJob')).toBeInstanceOf(AccessDeniedError);
  });

  it('maps a creator the peer refused (a foreign CA) to AccessDeniedError naming the missing right', () => {
    // The devnet and Fabric's gateway: evaluate answers UNKNOWN with the endorser's words in the message.
    const said =
      'error validating proposal: the supplied identity is not valid: certificate was not issued by a CA of MSP Org1MSP';
    const evaluate = new GatewayError({
      code: GrpcStatus.UNKNOWN,
      details: [],
      cause: serviceError(GrpcStatus.UNKNOWN, `evaluate call to endorser returned error: ${said}`),
      message: `evaluate call to endorser returned error: ${said}`,
    });
    const err = toDomainError(evaluate, 'GetJob');
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toBe(
      `GetJob: permission denied: certificate not issued by a consortium CA (the peer said: ${said})`,
    );
    expect(err.hint).toMatch(/enrolled by your org's CA in this consortium/);
    // Endorse answers ABORTED with the words in the details.
    const endorse = toDomainError(endorseError('failed to endorse transaction', said), 'CreateJob');
    expect(endorse).toBeInstanceOf(AccessDeniedError);
    expect(endorse.message).toMatch(
      /^CreateJob: permission denied: certificate not issued by a consortium CA/,
    );
    expect(endorse).toMatchObject({ transactionId: 'tx-1' });
  });

  it("maps Fabric's bare 'access denied' and the devnet's other refusals to what each one lacks", () => {
    const cases: [string, RegExp][] = [
      [
        'error validating proposal: access denied',
        /certificate not issued by a consortium CA, expired, or signed/,
      ],
      [
        'error validating proposal: MSP EvilMSP is not a member of this consortium',
        /: certificate not issued/,
      ],
      [
        'error validating proposal: the supplied identity is not valid: certificate of Org1MSP has expired',
        /: certificate has expired/,
      ],
      [
        'error validating proposal: access denied: signature of Org1MSP creator is not valid',
        /: signature does not match/,
      ],
    ];
    for (const [said, names] of cases) {
      const err = toDomainError(endorseError('failed to endorse transaction', said), 'CreateJob');
      expect(err).toBeInstanceOf(AccessDeniedError);
      expect(err.message).toMatch(names);
    }
  });

  it('keeps what each peer said in a failure it cannot classify', () => {
    const err = toDomainError(
      endorseError('failed to endorse transaction', 'creator signature is not valid'),
      'CreateJob',
    );
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toBe(
      'CreateJob failed: failed to endorse transaction (Org1MSP peer0:7051: creator signature is not valid)',
    );
  });

  it('keeps domain errors and wraps anything else as INTERNAL', () => {
    const domain = new NotFoundError('gone');
    expect(toDomainError(domain, 'X')).toBe(domain);
    const other = toDomainError(new TypeError('bad'), 'X');
    expect(other).toBeInstanceOf(LedgerError);
    expect(other.code).toBe('INTERNAL');
    expect(other.cause).toBeInstanceOf(TypeError);
  });
});
