import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { parseJobSpec, planTrials, type TrialPlan } from '@decenter/core';
import { JobsClient, LedgerConnection, loadNetworkConfig, type CreateJobRequest } from '@decenter/ledger';

import { runStandalone, type Benchmark } from './lib/benchmark';
import { loadAverage } from './lib/machine';
import { numberOption, type BenchOptions } from './lib/options';
import type { BenchReport, Figure } from './lib/report';
import { startDevnetProcess } from './lib/stack';
import { quantile } from './lib/stats';

/**
 * bench/ledger: committed transactions per second and commit latency through @decenter/ledger and
 * fabric-gateway, against the devnet (its own process) running the real chaincode.
 *
 * The write is `CreateJob` with one trial and an explicit validator list: the cheapest transaction that
 * concurrent clients can send without touching the same keys (RegisterNode is smaller but writes one key
 * per identity, so concurrent calls would only measure MVCC conflicts). Each one writes the job and its
 * trial and emits one event. Retries are off, so every failure is counted.
 */

const CONCURRENCY = [1, 8, 64];

const ONE_TRIAL: TrialPlan[] = planTrials(
  parseJobSpec({
    name: 'bench',
    task: 'classification',
    model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [4] } },
    data: { format: 'csv', label: 'y' },
    search: { learningRate: [0.01], batchSize: [16], epochs: [1], optimizer: ['adam'], seeds: [1] },
    objective: { metric: 'accuracy' },
    schedule: { trainingDeadline: '2030-12-01T00:00:00Z', validationDeadline: '2030-12-02T00:00:00Z' },
  }),
);

function jobRequest(jobId: string): CreateJobRequest {
  const hex = (c: string): string => c.repeat(64);
  return {
    jobId,
    name: 'bench',
    specHash: hex('a'),
    objective: { metric: 'accuracy', direction: 'maximize' },
    trials: ONE_TRIAL,
    validation: { validatorOrgs: ['Org2MSP', 'Org3MSP'], quorum: 2 },
    schedule: { trainingDeadline: '2030-12-01T00:00:00Z', validationDeadline: '2030-12-02T00:00:00Z' },
    data: { manifestHash: hex('b'), merkleRoot: hex('c'), holdoutHash: hex('d') },
    storageUri: `local://jobs/${jobId}`,
  };
}

interface RoundResult {
  committed: number;
  failed: number;
  seconds: number;
  latenciesMs: number[];
  firstError?: string;
}

/**
 * `concurrency` clients send one call after another until `seconds` pass or `maxCalls` have been sent;
 * the rate counts only calls that completed (committed, for submits).
 */
async function closedLoop(
  concurrency: number,
  seconds: number,
  maxCalls: number,
  call: (index: number) => Promise<unknown>,
): Promise<RoundResult> {
  const result: RoundResult = { committed: 0, failed: 0, seconds: 0, latenciesMs: [] };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && sent < maxCalls) {
      const index = sent++;
      const t0 = performance.now();
      try {
        await call(index);
        result.latenciesMs.push(performance.now() - t0);
        result.committed++;
      } catch (error) {
        result.failed++;
        result.firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const seconds = numberOption(options, 'seconds', options.quick ? 2 : 10);
  const maxCalls = numberOption(options, 'max-calls', options.quick ? 200 : 5000);
  const home = path.join(options.workDir, 'ledger-home');
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  const devnet = await startDevnetProcess(home);
  const config = await loadNetworkConfig(path.join(home, 'network.json'));
  // One connection (one gRPC channel, as an application would hold) for every concurrent caller.
  const connection = await LedgerConnection.open({ config, identity: 'Org1/user1' });
  const noRetry = { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } };
  const jobs = new JobsClient(connection, noRetry);
  const loadBefore: number[][] = [];
  const figures: Figure[] = [];
  const errors: string[] = [];
  try {
    let serial = 0;
    const nextId = (): string => `bench-${String(process.pid)}-${String(serial++)}`;
    // Warm-up: connections, the chaincode's first calls and the JIT are not what a long run sees.
    await closedLoop(4, 2, 40, () => jobs.createJob(jobRequest(nextId())));
    const probeId = nextId();
    await jobs.createJob(jobRequest(probeId));
    for (const concurrency of CONCURRENCY) {
      const rates: number[] = [];
      const p50: number[] = [];
      const p99: number[] = [];
      const failures: number[] = [];
      const reads: number[] = [];
      for (let repeat = 0; repeat < options.repeats; repeat++) {
        loadBefore.push(loadAverage());
        const writes = await closedLoop(concurrency, seconds, maxCalls, () =>
          jobs.createJob(jobRequest(nextId())),
        );
        if (writes.firstError !== undefined) errors.push(`c=${String(concurrency)}: ${writes.firstError}`);
        rates.push(writes.committed / writes.seconds);
        failures.push(writes.failed);
        if (writes.latenciesMs.length > 0) {
          p50.push(quantile(writes.latenciesMs, 0.5));
          p99.push(quantile(writes.latenciesMs, 0.99));
        }
        // The reference: evaluations (GetJob) through the same client, no ordering or commit.
        const evaluations = await closedLoop(concurrency, Math.min(seconds, 5), maxCalls, () =>
          jobs.getJob(probeId),
        );
        reads.push(evaluations.committed / evaluations.seconds);
      }
      const readsText = `GetJob evaluations at the same concurrency: ${reads.map((r) => r.toFixed(0)).join(', ')} calls/s`;
      figures.push(
        {
          label: `CreateJob committed, concurrency ${String(concurrency)}`,
          unit: 'tx/s',
          values: rates,
          goal: { op: '>=', value: 500 },
          reference: readsText,
        },
        { label: `commit latency p50, concurrency ${String(concurrency)}`, unit: 'ms', values: p50 },
        {
          label: `commit latency p99, concurrency ${String(concurrency)}`,
          unit: 'ms',
          values: p99,
          ...(concurrency === 8 ? { goal: { op: '<' as const, value: 250 } } : {}),
        },
        { label: `failed transactions, concurrency ${String(concurrency)}`, unit: 'count', values: failures },
      );
    }
  } finally {
    connection.close();
    await devnet.stop();
    await rm(home, { recursive: true, force: true });
  }
  return {
    name: 'ledger',
    title: 'Ledger: committed transactions through fabric-gateway on the devnet',
    startedAt: '',
    seconds: 0,
    quick: options.quick,
    repeats: options.repeats,
    loadBefore,
    setup: [
      'Transaction: `JobContract:CreateJob` with one trial and an explicit validator list (writes the job and its trial, emits one event), signed by Org1/user1 through `@decenter/ledger` JobsClient (fabric-gateway, one gRPC connection), retries off.',
      `Devnet in its own process with its defaults (block size 100, block timeout 10 ms from a block's first transaction) and the real chaincode; closed loop of N concurrent callers for ${String(seconds)} s (at most ${String(maxCalls)} calls) per repeat.`,
      ...errors.slice(0, 3).map((error) => `First error seen: ${error}`),
    ],
    figures,
    missing: [],
  };
}

export const ledgerBenchmark: Benchmark = { name: 'ledger', run };

if (require.main === module) runStandalone(ledgerBenchmark);
