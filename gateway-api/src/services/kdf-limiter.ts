import { availableParallelism } from 'node:os';

import { ApiError } from '../errors/gateway.errors';

/** Sign-in is refused for now because password checks already queued would take too long to clear. */
export class SignInBusyError extends ApiError {
  override readonly name = 'SignInBusyError';
  /** Seconds after which a retry is expected to be served (the `Retry-After` header). */
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(
      503,
      'UNAVAILABLE',
      `The gateway is checking too many passwords at once; try again in ${String(retryAfterSeconds)} s.`,
      {
        hint: `Wait ${String(retryAfterSeconds)} s (the Retry-After header) and sign in again; an existing session keeps working meanwhile.`,
      },
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface KdfLimiterOptions {
  /** Key derivations that run at once. */
  concurrency?: number;
  /** New work is refused when the expected wait before it would start exceeds this. */
  maxWaitMs?: number;
  /** Bound on waiting work whatever the estimate says. */
  maxQueue?: number;
  /** What one derivation is assumed to cost until one has been measured. */
  initialCostMs?: number;
  /** Clock, replaceable so tests control the measured costs. */
  now?: () => number;
}

/**
 * scrypt at OWASP's cost (N=2^17, r=8) takes ~0.4 s of one core and 128 MiB. Node runs async scrypt on
 * libuv's thread pool (4 threads by default), the same pool that serves every file-system call: unbounded,
 * a burst of sign-ins fills all four threads for seconds, so tus writes, users.json reads and everything
 * else that touches the disk wait behind them, and four KDFs on two cores each run slower than one after
 * another. One or two at a time leaves the pool and a core to the rest of the gateway.
 */
export function defaultKdfConcurrency(cores = availableParallelism()): number {
  return Math.max(1, Math.min(2, cores - 1));
}

interface Waiting {
  start: () => void;
}

/**
 * A bounded queue in front of the password KDF: at most `concurrency` derivations run, later ones wait in
 * order, and work whose expected wait exceeds `maxWaitMs` is refused at once with `SignInBusyError` (503 +
 * Retry-After) instead of piling up: a sign-in answered in 20 s helps nobody, and the queue would keep
 * growing as long as sign-ins arrive faster than the cores derive keys. The cost estimate follows the
 * measured durations, so a loaded machine queues fewer.
 */
export class KdfLimiter {
  readonly concurrency: number;
  private readonly maxWaitMs: number;
  private readonly maxQueue: number;
  private readonly now: () => number;
  private costMs: number;
  private running = 0;
  private readonly waiting: Waiting[] = [];
  /** Derivations refused since start (exposed for logs and tests). */
  refused = 0;

  constructor(options: KdfLimiterOptions = {}) {
    this.concurrency = options.concurrency ?? defaultKdfConcurrency();
    this.maxWaitMs = options.maxWaitMs ?? 5_000;
    this.maxQueue = options.maxQueue ?? 64;
    this.costMs = options.initialCostMs ?? 500;
    this.now = options.now ?? (() => performance.now());
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new RangeError('KdfLimiter concurrency must be a positive integer');
    }
  }

  /** Expected milliseconds before a derivation asked for now would start. */
  expectedWaitMs(): number {
    const ahead = this.running + this.waiting.length - this.concurrency + 1;
    return ahead <= 0 ? 0 : Math.ceil(ahead / this.concurrency) * this.costMs;
  }

  /** The estimated cost of one derivation (a moving average of the measured ones). */
  get estimatedCostMs(): number {
    return this.costMs;
  }

  get queued(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  /** Runs `derive` when a slot is free; throws `SignInBusyError` right away if it would wait too long. */
  async run<T>(derive: () => Promise<T>): Promise<T> {
    const wait = this.expectedWaitMs();
    if (wait > this.maxWaitMs || this.waiting.length >= this.maxQueue) {
      this.refused++;
      // The time until enough of the queue has drained that a retry would be admitted, at least 1 s.
      const seconds = Math.ceil(Math.max(1000, wait - this.maxWaitMs + this.costMs) / 1000);
      throw new SignInBusyError(Math.min(60, seconds));
    }
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push({ start: resolve }));
    } else {
      this.running++;
    }
    const t0 = this.now();
    try {
      return await derive();
    } finally {
      this.costMs = 0.7 * this.costMs + 0.3 * Math.max(1, this.now() - t0);
      const next = this.waiting.shift();
      // The slot passes straight to the next in line, so `running` never drops below what is busy.
      if (next === undefined) this.running--;
      else next.start();
    }
  }
}
