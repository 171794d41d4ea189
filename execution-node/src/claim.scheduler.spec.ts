import {
  ConflictError,
  FailedPreconditionError,
  LedgerUnavailableError,
  type JobRecord,
  type TrialRecord,
} from '@decenter/ledger';

import { ClaimScheduler, isClaimable, type ClaimPort } from './claim.scheduler';

const NOW = new Date('2026-06-01T12:00:00Z');

function job(jobId: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId,
    trainingDeadline: '2026-06-02T00:00:00Z',
    owner: { mspId: 'Org1MSP', id: 'x509::owner' },
    leaseSeconds: 60,
    ...overrides,
  } as JobRecord;
}

function trial(trialId: string, overrides: Partial<TrialRecord> = {}): TrialRecord {
  return {
    jobId: 'j1',
    trialId,
    hyperparameters: { learningRate: 0.01, batchSize: 8, epochs: 1, optimizer: 'adam' },
    seed: 1,
    status: 'OPEN',
    attempts: 0,
    updatedAt: NOW.toISOString(),
    ...overrides,
  };
}

/** A ledger with one job whose trials a rival node may grab between our list and our claim. */
class FakeLedger implements ClaimPort {
  claims: string[] = [];
  rivalTakes = new Set<string>();
  failWith: Error | undefined;

  constructor(
    public jobs: JobRecord[],
    public trials: Map<string, TrialRecord[]>,
  ) {}

  listActiveJobs(): Promise<JobRecord[]> {
    return Promise.resolve(this.jobs);
  }

  listTrials(jobId: string): Promise<TrialRecord[]> {
    return Promise.resolve(this.trials.get(jobId) ?? []);
  }

  claimTrial(jobId: string, trialId: string): Promise<TrialRecord> {
    this.claims.push(`${jobId}/${trialId}`);
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    if (this.rivalTakes.has(trialId)) {
      return Promise.reject(new ConflictError('ClaimTrial kept conflicting with concurrent transactions'));
    }
    const found = this.trials.get(jobId)?.find((t) => t.trialId === trialId);
    if (found === undefined || found.status !== 'OPEN') {
      return Promise.reject(new FailedPreconditionError(`trial ${trialId} is held by another node`));
    }
    found.status = 'CLAIMED';
    return Promise.resolve({ ...found, attempts: found.attempts + 1 });
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('isClaimable', () => {
  it('takes open trials and claimed ones whose lease ran out, nothing else', () => {
    expect(isClaimable(trial('a'), NOW)).toBe(true);
    expect(isClaimable(trial('a', { status: 'CLAIMED', leaseExpiresAt: '2026-06-01T11:59:59Z' }), NOW)).toBe(
      true,
    );
    expect(isClaimable(trial('a', { status: 'CLAIMED', leaseExpiresAt: '2026-06-01T12:00:30Z' }), NOW)).toBe(
      false,
    );
    expect(isClaimable(trial('a', { status: 'COMMITTED' }), NOW)).toBe(false);
    expect(isClaimable(trial('a', { status: 'FAILED' }), NOW)).toBe(false);
  });
});

describe('ClaimScheduler', () => {
  it('claims up to its concurrency and claims more as trials finish', async () => {
    const ledger = new FakeLedger([job('j1')], new Map([['j1', ['t0', 't1', 't2'].map((id) => trial(id))]]));
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const ran: string[] = [];
    const scheduler = new ClaimScheduler({
      port: ledger,
      concurrency: 2,
      accepts: () => true,
      now: () => NOW,
      run: async (_job, t) => {
        ran.push(t.trialId);
        const gate = deferred();
        gates.set(t.trialId, gate);
        await gate.promise;
      },
    });
    await scheduler.requestScan();
    expect(ran).toEqual(['t0', 't1']);
    expect(scheduler.active).toBe(2);
    gates.get('t0')?.resolve();
    await new Promise((r) => setImmediate(r));
    await scheduler.requestScan();
    expect(ran).toEqual(['t0', 't1', 't2']);
    gates.get('t1')?.resolve();
    gates.get('t2')?.resolve();
    await scheduler.idle();
    expect(scheduler.active).toBe(0);
    expect(ledger.claims).toEqual(['j1/t0', 'j1/t1', 'j1/t2']);
  });

  it('moves on to the next trial when another node wins the race', async () => {
    const ledger = new FakeLedger([job('j1')], new Map([['j1', ['t0', 't1', 't2'].map((id) => trial(id))]]));
    ledger.rivalTakes.add('t0');
    ledger.trials.get('j1')?.splice(1, 1, trial('t1', { status: 'OPEN' }));
    const ran: string[] = [];
    const scheduler = new ClaimScheduler({
      port: ledger,
      concurrency: 1,
      accepts: () => true,
      now: () => NOW,
      run: (_job, t) => {
        ran.push(t.trialId);
        return Promise.resolve();
      },
    });
    await scheduler.requestScan();
    await scheduler.idle();
    expect(ran).toEqual(['t1', 't2']);
    expect(ledger.claims[0]).toBe('j1/t0');
  });

  it('skips jobs it does not accept, past their deadline or not started, and stops a job on ledger outages', async () => {
    const ledger = new FakeLedger(
      [
        job('refused'),
        job('late', { trainingDeadline: '2026-06-01T11:00:00Z' }),
        job('later', { startAt: '2026-06-01T13:00:00Z' }),
        job('j1'),
      ],
      new Map(['refused', 'late', 'later', 'j1'].map((id) => [id, [trial('t0', { jobId: id })]])),
    );
    const ran: string[] = [];
    const scheduler = new ClaimScheduler({
      port: ledger,
      concurrency: 4,
      accepts: (j) => j.jobId !== 'refused',
      now: () => NOW,
      run: (j) => {
        ran.push(j.jobId);
        return Promise.resolve();
      },
    });
    await scheduler.requestScan();
    await scheduler.idle();
    expect(ran).toEqual(['j1']);

    ledger.trials.set('j1', [trial('t9')]);
    ledger.failWith = new LedgerUnavailableError('peer down');
    const events: Record<string, unknown>[] = [];
    const failing = new ClaimScheduler({
      port: ledger,
      concurrency: 1,
      accepts: (j) => j.jobId === 'j1',
      now: () => NOW,
      run: () => Promise.resolve(),
      log: (event) => events.push(event),
    });
    await failing.requestScan();
    expect(failing.active).toBe(0);
    expect(events).toContainEqual(expect.objectContaining({ event: 'claim-failed', trialId: 't9' }));
  });

  it('coalesces scans asked for while one runs into one more scan', async () => {
    const ledger = new FakeLedger([job('j1')], new Map([['j1', []]]));
    const list = jest.spyOn(ledger, 'listActiveJobs');
    const scheduler = new ClaimScheduler({
      port: ledger,
      concurrency: 1,
      accepts: () => true,
      now: () => NOW,
      run: () => Promise.resolve(),
    });
    const scans = [scheduler.requestScan(), scheduler.requestScan(), scheduler.requestScan()];
    await Promise.all(scans);
    expect(list).toHaveBeenCalledTimes(2);
  });
});
