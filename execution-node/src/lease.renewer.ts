import { AccessDeniedError, FailedPreconditionError, NotFoundError } from '@decenter/ledger';

export interface LeaseRenewerOptions {
  /** Sends RenewLease for the trial. */
  renew: () => Promise<unknown>;
  leaseSeconds: number;
  /** Renew after this share of the lease has passed (default a third: two chances before it runs out). */
  fraction?: number;
  /** The ledger refused to renew: the lease is gone (expired and reclaimed, job cancelled, deadline passed). */
  onLost: (error: unknown) => void;
  log?: (event: Record<string, unknown>) => void;
}

/** Whether a renewal failure means the trial is no longer ours, as opposed to a transient ledger problem. */
export function isLeaseLost(error: unknown): boolean {
  return (
    error instanceof FailedPreconditionError ||
    error instanceof AccessDeniedError ||
    error instanceof NotFoundError
  );
}

export function renewIntervalMs(leaseSeconds: number, fraction: number): number {
  if (!(leaseSeconds > 0) || !(fraction > 0 && fraction < 1)) {
    throw new RangeError(
      `leaseSeconds must be > 0 and fraction in (0, 1), got ${leaseSeconds} and ${fraction}`,
    );
  }
  return Math.max(100, Math.floor(leaseSeconds * 1000 * fraction));
}

/**
 * Keeps a claimed trial's lease alive while it trains. A timer renews it at a fraction of the lease; a
 * transient failure (peer down) is retried at the next tick, which still lands inside the lease; a refusal
 * means another node holds the trial now, and `onLost` tells the trainer to stop.
 */
export class LeaseRenewer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private inFlight: Promise<void> | undefined;
  readonly intervalMs: number;

  constructor(private readonly options: LeaseRenewerOptions) {
    this.intervalMs = renewIntervalMs(options.leaseSeconds, options.fraction ?? 1 / 3);
  }

  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.schedule();
  }

  /** Stops renewing; resolves once a renewal in flight has settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.inFlight = this.tick();
    }, this.intervalMs);
    // Renewal alone must not keep a finished node alive.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.options.renew();
      this.options.log?.({ event: 'lease-renewed' });
    } catch (error) {
      if (isLeaseLost(error)) {
        this.stopped = true;
        this.options.onLost(error);
        return;
      }
      this.options.log?.({ event: 'lease-renew-failed', error: (error as Error).message });
    }
    if (this.isRunning()) this.schedule();
  }

  /** stop() may run while a renewal awaits; read the flag through a method so it is read afresh. */
  private isRunning(): boolean {
    return !this.stopped;
  }
}
