import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type DataManifest, type JobSpecInput } from '@decenter/core';
import { LedgerUnavailableError, type JobRecord, type TrialRecord } from '@decenter/ledger';
import type { StorageBackend } from '@decenter/storage';

import type { DataFetcher } from './data.fetcher';
import { TrialFailedError } from './executor.errors';
import { NO_PROGRESS } from './progress.reporter';
import { TrialRunner, type TrialLedgerPort } from './trial.runner';

const SPEC: JobSpecInput = {
  name: 'iris',
  task: 'classification',
  model: { kind: 'template', template: 'mlp' },
  data: { format: 'csv', label: 'species' },
  objective: { metric: 'accuracy' },
  schedule: { trainingDeadline: '2099-01-01T00:00:00Z', validationDeadline: '2099-01-02T00:00:00Z' },
};
const JOB = { jobId: 'j1', leaseSeconds: 60, owner: { mspId: 'Org1MSP', id: 'x509::o' } } as JobRecord;
const TRIAL = {
  jobId: 'j1',
  trialId: 't000',
  seed: 1,
  hyperparameters: { learningRate: 0.01, batchSize: 8, epochs: 2, optimizer: 'adam' },
  status: 'CLAIMED',
  attempts: 1,
  updatedAt: '2026-01-01T00:00:00Z',
} as TrialRecord;

/** A fetcher whose manifest and spec are given, and whose data fetch fails as told. */
function fetcherWith(spec: unknown, materialize: () => Promise<string>): DataFetcher {
  const manifest = {
    objects: [
      { name: 'data/train.csv', role: 'train', size: 10, digest: 'a'.repeat(64), parts: [] },
      { name: 'data/validation.csv', role: 'validation', size: 10, digest: 'b'.repeat(64), parts: [] },
    ],
  } as unknown as DataManifest;
  return {
    loadManifest: () => Promise.resolve({ manifest, location: { bucket: 'b', prefix: 'jobs/j1' } }),
    loadSpec: () => Promise.resolve(spec),
    materialize,
  } as unknown as DataFetcher;
}

describe('TrialRunner', () => {
  let dir: string;
  let ledger: jest.Mocked<TrialLedgerPort>;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'runner-'));
    ledger = {
      renewLease: jest.fn<Promise<unknown>, [string, string]>(() => Promise.resolve()),
      releaseTrial: jest.fn<Promise<unknown>, [string, string, string]>(() => Promise.resolve()),
      failTrial: jest.fn<Promise<unknown>, [string, string, string]>(() => Promise.resolve()),
      commitCandidate: jest.fn<Promise<unknown>, Parameters<TrialLedgerPort['commitCandidate']>>(() =>
        Promise.resolve(),
      ),
    };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const runner = (fetcher: DataFetcher): TrialRunner =>
    new TrialRunner({
      ledger,
      fetcher,
      storage: {} as StorageBackend,
      progress: NO_PROGRESS,
      principal: { mspId: 'Org2MSP', id: 'x509::e', role: 'executor' },
      trialsDir: dir,
      memoryMiB: 256,
      backends: ['cpu'],
      leaseRenewFraction: 0.5,
      settleRetry: { attempts: 3, retryUnavailable: true, sleep: () => Promise.resolve() },
      onStatus: () => undefined,
      log: () => undefined,
    });

  it('fails the trial on the ledger when the spec carries a Lambda layer, naming it', async () => {
    const lambda = {
      ...SPEC,
      model: {
        kind: 'topology',
        topology: { class_name: 'Sequential', config: { layers: [{ class_name: 'Lambda', config: {} }] } },
      },
    };
    const outcome = await runner(fetcherWith(lambda, () => Promise.reject(new Error('not reached')))).run(
      JOB,
      TRIAL,
    );
    expect(outcome).toBe('failed');
    expect(ledger.failTrial).toHaveBeenCalledWith(
      'j1',
      't000',
      expect.stringMatching(/^INVALID_SPEC: .*Lambda layers carry code/),
    );
    expect(ledger.commitCandidate).not.toHaveBeenCalled();
  });

  it('fails the trial with the integrity reason when a data part does not match', async () => {
    const integrity = new TrialFailedError(
      'INTEGRITY',
      'data part of "data/train.csv" does not match the digest',
    );
    const outcome = await runner(fetcherWith(SPEC, () => Promise.reject(integrity))).run(JOB, TRIAL);
    expect(outcome).toBe('failed');
    expect(ledger.failTrial.mock.calls[0]?.[2]).toMatch(/^INTEGRITY: data part of "data\/train.csv"/);
  });

  it('leaves the trial to its lease when the ledger cannot record the failure', async () => {
    ledger.failTrial.mockRejectedValue(new LedgerUnavailableError('peer down'));
    const integrity = new TrialFailedError('INTEGRITY', 'changed');
    expect(await runner(fetcherWith(SPEC, () => Promise.reject(integrity))).run(JOB, TRIAL)).toBe(
      'abandoned',
    );
  });

  it('releases the trial when the node is stopping, and records neither a failure nor a candidate', async () => {
    const stop = new AbortController();
    stop.abort();
    const outcome = await runner(fetcherWith(SPEC, () => Promise.resolve(path.join(dir, 'x')))).run(
      JOB,
      TRIAL,
      stop.signal,
    );
    expect(outcome).toBe('released');
    expect(ledger.releaseTrial).toHaveBeenCalledWith('j1', 't000', expect.stringContaining('was stopped'));
    expect(ledger.failTrial).not.toHaveBeenCalled();
    expect(ledger.commitCandidate).not.toHaveBeenCalled();
  });

  it('leaves a stopped trial to its lease when the ledger cannot take the release', async () => {
    ledger.releaseTrial.mockRejectedValue(new LedgerUnavailableError('peer down'));
    const stop = new AbortController();
    stop.abort();
    const outcome = await runner(fetcherWith(SPEC, () => Promise.resolve(path.join(dir, 'x')))).run(
      JOB,
      TRIAL,
      stop.signal,
    );
    expect(outcome).toBe('abandoned');
    expect(ledger.failTrial).not.toHaveBeenCalled();
  });
});
