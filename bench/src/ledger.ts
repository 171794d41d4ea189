import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { parseJobSpec, planTrials, type TrialPlan } from '@decenter/core';
import { addIdentity, createConsortium } from '@decenter/devnet';
import {
  JobsClient,
  LedgerConnection,
  NodesClient,
  loadNetworkConfig,
  type CreateJobRequest,
} from '@decenter/ledger';

import { runStandalone, type Benchmark } from './lib/benchmark';
import { loadAverage } from './lib/machine';
import { numberOption, type BenchOptions } from './lib/options';
import type { BenchReport, Figure } from './lib/report';
import { startDevnetProcess } from './lib/stack';
import { quantile } from './lib/stats';

/**
 * bench/ledger: committed transactions per second and commit latency through @decenter/ledger and
 * fabric-gateway, against the devnet (its own process) running the real chaincode. Two workloads:
 *
 * - the simple write the goal is set for: `RegisterNode`, which reads and writes one key (the caller's
 *   node record) and emits one event. Each concurrent caller is its own execution node identity (issued
 *   by the dev CA for the run) with its own connection, as separate nodes would be, so no two callers touch
 *   the same key;
 * - `CreateJob` with one trial and an explicit validator list, the heaviest transaction an app sends
 *   often: it reads one key and writes six (job, two indexes, trial, progress, history), that is seven
 *   round trips between the peer and the chaincode, all from one connection.
 *
 * Retries are off, so every failure is counted.
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
 * `concurrency` callers (numbered from 0) send one call after another until `seconds` pass or `maxCalls`
 * have been sent; the rate counts only calls that completed (committed, for submits).
 */
async function closedLoop(
  concurrency: number,
  seconds: number,
  maxCalls: number,
  call: (caller: number) => Promise<unknown>,
): Promise<RoundResult> {
  const result: RoundResult = { committed: 0, failed: 0, seconds: 0, latenciesMs: [] };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let sent = 0;
  const worker = async (caller: number): Promise<void> => {
    while (performance.now() < deadline && sent < maxCalls) {
      sent++;
      const t0 = performance.now();
      try {
        await call(caller);
        result.latenciesMs.push(performance.now() - t0);
        result.committed++;
      } catch (error) {
        result.failed++;
        result.firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, caller) => worker(caller)));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

interface Workload {
  /** What the figures are called, e.g. `RegisterNode (simple write)`. */
  name: string;
  /** Whether the goals (500 tx/s, p99 under 250 ms at concurrency 8) apply. */
  goals: boolean;
  /** Caller number `caller` (0 to concurrency - 1) sends one write and waits until it commits. */
  write(caller: number): Promise<unknown>;
  read(caller: number): Promise<unknown>;
  readName: string;
}

/** Rounds of every concurrency for one workload, as figures. */
async function measure(
  workload: Workload,
  options: BenchOptions,
  limits: { seconds: number; maxCalls: number },
  loadBefore: number[][],
  errors: string[],
): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const concurrency of CONCURRENCY) {
    const rates: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    const failures: number[] = [];
    const reads: number[] = [];
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      loadBefore.push(loadAverage());
      const writes = await closedLoop(concurrency, limits.seconds, limits.maxCalls, (caller) =>
        workload.write(caller),
      );
      if (writes.firstError !== undefined) {
        errors.push(`${workload.name}, c=${String(concurrency)}: ${writes.firstError}`);
      }
      rates.push(writes.committed / writes.seconds);
      failures.push(writes.failed);
      if (writes.latenciesMs.length > 0) {
        p50.push(quantile(writes.latenciesMs, 0.5));
        p99.push(quantile(writes.latenciesMs, 0.99));
      }
      // The reference: evaluations through the same clients, no ordering or commit.
      const evaluations = await closedLoop(
        concurrency,
        Math.min(limits.seconds, 5),
        limits.maxCalls,
        (caller) => workload.read(caller),
      );
      reads.push(evaluations.committed / evaluations.seconds);
    }
    const readsText = `${workload.readName} evaluations at the same concurrency: ${reads.map((r) => r.toFixed(0)).join(', ')} calls/s`;
    const c = String(concurrency);
    figures.push(
      {
        label: `${workload.name} committed, concurrency ${c}`,
        unit: 'tx/s',
        values: rates,
        // Throughput is the ledger's capacity, reached with enough callers: with one, a closed loop measures
        // one transaction's latency instead.
        ...(workload.goals && concurrency === Math.max(...CONCURRENCY)
          ? { goal: { op: '>=' as const, value: 500 } }
          : {}),
        reference: readsText,
      },
      { label: `${workload.name} commit latency p50, concurrency ${c}`, unit: 'ms', values: p50 },
      {
        label: `${workload.name} commit latency p99, concurrency ${c}`,
        unit: 'ms',
        values: p99,
        ...(workload.goals && concurrency === 8 ? { goal: { op: '<' as const, value: 250 } } : {}),
      },
      { label: `${workload.name} failed transactions, concurrency ${c}`, unit: 'count', values: failures },
    );
  }
  return figures;
}

const NO_RETRY = { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } };
const CAPABILITIES = { cores: 2, memoryMiB: 4096, backends: ['wasm' as const] };

async function run(options: BenchOptions): Promise<BenchReport> {
  const seconds = numberOption(options, 'seconds', options.quick ? 2 : 10);
  const maxCalls = numberOption(options, 'max-calls', options.quick ? 200 : 5000);
  const home = path.join(options.workDir, 'ledger-home');
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  // One execution node identity per concurrent caller of the simple write, spread over the three orgs.
  const callers = Math.max(...CONCURRENCY);
  await createConsortium({ home });
  const nodeIdentities: string[] = [];
  for (let i = 0; i < callers; i++) {
    const identity = await addIdentity({
      home,
      org: `Org${String(1 + (i % 3))}`,
      user: `bench-node-${String(i)}`,
      role: 'executor',
    });
    nodeIdentities.push(`${identity.org}/${identity.user}`);
  }
  const devnet = await startDevnetProcess(home);
  const config = await loadNetworkConfig(path.join(home, 'network.json'));
  const connections: LedgerConnection[] = [];
  const loadBefore: number[][] = [];
  const figures: Figure[] = [];
  const errors: string[] = [];
  try {
    const nodes: NodesClient[] = [];
    for (const identity of nodeIdentities) {
      const connection = await LedgerConnection.open({ config, identity });
      connections.push(connection);
      nodes.push(new NodesClient(connection, NO_RETRY));
    }
    // One connection (one gRPC channel, as an application would hold) for every concurrent CreateJob.
    const appConnection = await LedgerConnection.open({ config, identity: 'Org1/user1' });
    connections.push(appConnection);
    const jobs = new JobsClient(appConnection, NO_RETRY);
    let serial = 0;
    const nextId = (): string => `bench-${String(process.pid)}-${String(serial++)}`;
    // Warm-up: connections, the chaincode's first calls and the JIT are not what a long run sees.
    await Promise.all(nodes.map((client) => client.registerNode(CAPABILITIES)));
    await closedLoop(4, 2, 40, () => jobs.createJob(jobRequest(nextId())));
    const probeId = nextId();
    await jobs.createJob(jobRequest(probeId));

    const limits = { seconds, maxCalls };
    const simpleWrite: Workload = {
      name: 'RegisterNode (simple write)',
      goals: true,
      write: (caller) => (nodes[caller] as NodesClient).registerNode(CAPABILITIES),
      read: (caller) => (nodes[caller] as NodesClient).getNode(),
      readName: 'GetNode',
    };
    const createJob: Workload = {
      name: 'CreateJob (6 writes)',
      goals: false,
      write: () => jobs.createJob(jobRequest(nextId())),
      read: () => jobs.getJob(probeId),
      readName: 'GetJob',
    };
    figures.push(...(await measure(simpleWrite, options, limits, loadBefore, errors)));
    figures.push(...(await measure(createJob, options, limits, loadBefore, errors)));
  } finally {
    for (const connection of connections) connection.close();
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
      `Simple write (the goal): \`NodeContract:RegisterNode\` (reads and writes the caller's node record, emits one event) through \`@decenter/ledger\` NodesClient; each of the N concurrent callers is its own execution-node identity issued by the dev CA for the run (${String(callers)} over Org1-Org3) with its own gRPC connection, so no two touch the same key.`,
      'Heavier reference: `JobContract:CreateJob` with one trial and an explicit validator list (reads one key, writes six: job, two indexes, trial, progress, history; one event), signed by Org1/user1 through JobsClient on one shared gRPC connection.',
      'Every call is submitted and then waited for with CommitStatus, as the apps do; retries off.',
      `Devnet in its own process with its defaults (block size 100, block timeout 10 ms from a block's first transaction) and the real chaincode; closed loop of N concurrent callers for ${String(seconds)} s (at most ${String(maxCalls)} calls) per repeat.`,
      ...errors.slice(0, 3).map((error) => `First error seen: ${error}`),
    ],
    figures,
    missing: [],
  };
}

export const ledgerBenchmark: Benchmark = { name: 'ledger', run };

if (require.main === module) runStandalone(ledgerBenchmark);
