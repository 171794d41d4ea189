import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  CommitError,
  CommitStatusError,
  EndorseError,
  GatewayError,
  StatusCode,
} from '@hyperledger/fabric-gateway';

import { backoffDelay, isRetryable, withRetry, type RetryPolicy } from './retry';

function serviceError(code: GrpcStatus): ServiceError {
  return Object.assign(new Error('grpc'), { code, details: '', metadata: new Metadata() });
}

const mvcc = (): CommitError =>
  new CommitError({ code: StatusCode.MVCC_READ_CONFLICT, transactionId: 't', message: 'mvcc' });
const phantom = (): CommitError =>
  new CommitError({ code: StatusCode.PHANTOM_READ_CONFLICT, transactionId: 't', message: 'phantom' });
const endorseUnavailable = (): EndorseError =>
  new EndorseError({
    code: GrpcStatus.UNAVAILABLE,
    details: [],
    cause: serviceError(GrpcStatus.UNAVAILABLE),
    transactionId: 't',
  });

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50 };
const noSleep = (): Promise<void> => Promise.resolve();

describe('isRetryable', () => {
  it('retries MVCC and phantom-read conflicts', () => {
    expect(isRetryable(mvcc())).toBe(true);
    expect(isRetryable(phantom())).toBe(true);
  });

  it('retries UNAVAILABLE before anything reached the orderer', () => {
    expect(isRetryable(endorseUnavailable())).toBe(true);
    const evaluate = new GatewayError({
      code: GrpcStatus.UNAVAILABLE,
      details: [],
      cause: serviceError(GrpcStatus.UNAVAILABLE),
    });
    expect(isRetryable(evaluate)).toBe(true);
  });

  it('does not retry once the transaction may already be ordered', () => {
    const status = new CommitStatusError({
      code: GrpcStatus.UNAVAILABLE,
      details: [],
      cause: serviceError(GrpcStatus.UNAVAILABLE),
      transactionId: 't',
    });
    expect(isRetryable(status)).toBe(false);
  });

  it('does not retry other failures', () => {
    expect(
      isRetryable(new CommitError({ code: StatusCode.ENDORSEMENT_POLICY_FAILURE, transactionId: 't' })),
    ).toBe(false);
    const aborted = new EndorseError({
      code: GrpcStatus.ABORTED,
      details: [],
      cause: serviceError(GrpcStatus.ABORTED),
      transactionId: 't',
    });
    expect(isRetryable(aborted)).toBe(false);
    expect(isRetryable(new Error('other'))).toBe(false);
  });
});

describe('withRetry', () => {
  it('runs a fresh attempt after each conflict until one succeeds', async () => {
    const attempts: number[] = [];
    const retried: number[] = [];
    const result = await withRetry(
      (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) return Promise.reject(attempt === 1 ? mvcc() : phantom());
        return Promise.resolve('committed');
      },
      policy,
      { sleep: noSleep, onRetry: (_err, attempt) => retried.push(attempt) },
    );
    expect(result).toBe('committed');
    expect(attempts).toEqual([1, 2, 3]);
    expect(retried).toEqual([1, 2]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    const last = mvcc();
    await expect(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(calls === policy.maxAttempts ? last : mvcc());
        },
        policy,
        { sleep: noSleep },
      ),
    ).rejects.toBe(last);
    expect(calls).toBe(policy.maxAttempts);
  });

  it('does not retry a non-retryable error', async () => {
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(new Error('ACCESS_DENIED'));
        },
        policy,
        { sleep: noSleep },
      ),
    ).rejects.toThrow('ACCESS_DENIED');
    expect(calls).toBe(1);
  });

  it('waits a jittered, growing and capped delay', async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetry(
      () => {
        calls += 1;
        return calls < 5 ? Promise.reject(endorseUnavailable()) : Promise.resolve(calls);
      },
      { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 30 },
      { sleep: (ms) => (delays.push(ms), Promise.resolve()), random: () => 0.999 },
    );
    expect(delays).toEqual([9, 19, 29, 29]);
  });
});

describe('backoffDelay', () => {
  it('is zero with zero jitter and never above the ceiling', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 10, () => 0.99)).toBeLessThan(policy.maxDelayMs);
  });
});
