import { status as GrpcStatus } from '@grpc/grpc-js';
import { CommitError, EndorseError, GatewayError, StatusCode } from '@hyperledger/fabric-gateway';

const UNAVAILABLE: number = GrpcStatus.UNAVAILABLE;

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before retry n (1-based) is random in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))]. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Up to about 1.5 s of waiting in all: enough for a conflict storm to drain or a peer to come back. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 2000 };

export interface RetryHooks {
  /** Called before each retry with the error that caused it. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export function isConflict(err: unknown): boolean {
  return (
    err instanceof CommitError &&
    (err.code === StatusCode.MVCC_READ_CONFLICT || err.code === StatusCode.PHANTOM_READ_CONFLICT)
  );
}

/**
 * Whether a failed call may be run again as a new transaction. MVCC and phantom-read conflicts are safe: the
 * transaction was invalidated, nothing of it applied. UNAVAILABLE is safe only where nothing can have reached
 * the orderer (endorsement, evaluation); after Submit or during CommitStatus the first transaction may still
 * commit, so a new one could apply the change twice.
 */
export function isRetryable(err: unknown): boolean {
  if (isConflict(err)) return true;
  // Evaluate throws a plain GatewayError; SubmitError and CommitStatusError are its other subclasses.
  const beforeOrdering =
    err instanceof EndorseError ||
    (err instanceof GatewayError && Object.getPrototypeOf(err) === GatewayError.prototype);
  return beforeOrdering && err.code === UNAVAILABLE;
}

export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or the policy's attempts are spent.
 * `attempt` must build a new transaction each time (a new transaction id): a resubmitted one would be a
 * duplicate.
 */
export async function withRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  hooks: RetryHooks = {},
): Promise<T> {
  const random = hooks.random ?? Math.random;
  const sleep = hooks.sleep ?? defaultSleep;
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    try {
      return await attempt(attemptNumber);
    } catch (err) {
      if (attemptNumber >= policy.maxAttempts || !isRetryable(err)) throw err;
      const delayMs = backoffDelay(policy, attemptNumber, random);
      hooks.onRetry?.(err, attemptNumber, delayMs);
      await sleep(delayMs);
    }
  }
}
