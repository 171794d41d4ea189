import { ConflictError, LedgerUnavailableError } from '@decenter/ledger';

export interface ConflictRetryOptions {
  /** Attempts in all (each is a new transaction through the ledger client, which retries a few itself). */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Also retry when the peer is unreachable or slow. Safe for CommitCandidate and FailTrial only because the
   * chaincode accepts them from the lease holder of a CLAIMED trial: if an earlier try did commit, the next
   * one is refused instead of applied twice.
   */
  retryUnavailable?: boolean;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs a settling transaction (CommitCandidate, FailTrial) until it stops conflicting. Both read every
 * trial of the job to move the job on when the last one settles, so under many nodes they keep meeting
 * MVCC / phantom-read conflicts with other nodes' claims and commits; a conflict means nothing applied, so
 * trying again is safe, and giving up would throw away a finished training run.
 */
export async function retryOnConflict<T>(
  run: () => Promise<T>,
  options: ConflictRetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 10;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const random = options.random ?? Math.random;
  const sleep =
    options.sleep ??
    ((ms: number) =>
      new Promise<void>((resolve) => {
        setTimeout(resolve, ms);
      }));
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const retryable =
        error instanceof ConflictError ||
        (options.retryUnavailable === true && error instanceof LedgerUnavailableError);
      if (!retryable || attempt >= attempts) throw error;
      // Full jitter: nodes that conflicted with each other spread out instead of colliding again.
      await sleep(Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1))));
    }
  }
}
