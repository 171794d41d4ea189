import { ConflictError } from '@decenter/ledger';

export interface ConflictRetryOptions {
  /** Attempts in all (each is a new transaction through the ledger client, which retries a few itself). */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
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
      if (!(error instanceof ConflictError) || attempt >= attempts) throw error;
      // Full jitter: nodes that conflicted with each other spread out instead of colliding again.
      await sleep(Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1))));
    }
  }
}
