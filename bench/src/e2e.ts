import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import { JobsClient, LedgerConnection, loadNetworkConfig } from '@decenter/ledger';
import { digestFile } from '@decenter/storage';

import { runStandalone, type Benchmark } from './lib/benchmark';
import { createUpload, patchFile, submitJob, waitForIngest } from './lib/gateway-client';
import { loadAverage, repoRoot } from './lib/machine';
import { numberOption, type BenchOptions } from './lib/options';
import { BenchProcessError, sleep } from './lib/processes';
import type { BenchReport, Figure } from './lib/report';
import { EXECUTORS, VALIDATORS, startWholeStack } from './lib/whole-stack';

/**
 * bench/e2e: the demo's flow timed: a data set uploaded (tus) to the Org1 gateway, its fixture job (four
 * trials) trained by two executors of different orgs, scored by validators of two orgs, finalized on the
 * ledger. Time from the first upload byte to the selected model, and the selected model's holdout score.
 * Fashion-MNIST by default (Debian's dataset-fashion-mnist); Iris in quick mode.
 */

const FASHION_DIR = process.env['FASHION_MNIST_DIR'] ?? '/usr/share/datasets/fashion-mnist';

function dataFiles(dataset: string): string[] {
  if (dataset === 'fashion-mnist') {
    const files = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'].map((f) =>
      path.join(FASHION_DIR, f),
    );
    if (!files.every((file) => existsSync(file))) {
      throw new BenchProcessError(
        `Fashion-MNIST is not in ${FASHION_DIR}: install it with apt-get install dataset-fashion-mnist`,
      );
    }
    return files;
  }
  return [path.join(repoRoot(), 'fixtures', dataset, `${dataset}.csv`)];
}

/** The fixture spec with deadlines from now, as `decenter demo` sets them. */
async function fixtureSpec(dataset: string, trainingMinutes: number, validationMinutes: number) {
  const spec = JSON.parse(
    await readFile(path.join(repoRoot(), 'fixtures', dataset, 'spec.json'), 'utf8'),
  ) as Record<string, unknown>;
  const now = Date.now();
  return {
    ...spec,
    name: `${String(spec['name'])}-bench-${String(now)}`,
    schedule: {
      trainingDeadline: new Date(now + trainingMinutes * 60_000).toISOString(),
      validationDeadline: new Date(now + validationMinutes * 60_000).toISOString(),
    },
  };
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const dataset = options.extra['dataset'] ?? (options.quick ? 'iris' : 'fashion-mnist');
  const fashion = dataset === 'fashion-mnist';
  const trainingMinutes = numberOption(options, 'training-minutes', fashion ? 150 : 2);
  const validationMinutes = numberOption(options, 'validation-minutes', fashion ? 180 : 3);
  const timeoutMinutes = numberOption(options, 'timeout-minutes', validationMinutes + 5);
  const files = dataFiles(dataset);
  const dir = path.join(options.workDir, 'e2e');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const loadBefore: number[][] = [];
  const seconds: number[] = [];
  const accuracy: number[] = [];
  const ingestSeconds: number[] = [];
  const notes: string[] = [];
  const digests = await Promise.all(files.map(async (file) => (await digestFile(file)).digest));
  const stack = await startWholeStack(path.join(dir, 'home'));
  const config = await loadNetworkConfig(path.join(stack.home, 'network.json'));
  const connection = await LedgerConnection.open({ config, identity: 'Org1/user1' });
  const jobs = new JobsClient(connection);
  try {
    const user = stack.users.find((u) => u.username === 'user1') ?? stack.users[0];
    if (user === undefined) throw new BenchProcessError('the Org1 gateway provisioned no dev users');
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      loadBefore.push(loadAverage());
      const login = await fetch(`${stack.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ org: stack.org, ...user }),
      });
      const token = ((await login.json()) as { token: string }).token;
      const spec = await fixtureSpec(dataset, trainingMinutes, validationMinutes);
      const t0 = performance.now();
      const ids: string[] = [];
      for (const [index, file] of files.entries()) {
        const id = await createUpload(stack.url, token, (await stat(file)).size, {
          filename: path.basename(file),
          digest: digests[index] ?? '',
        });
        await patchFile(stack.url, token, id, file);
        ids.push(id);
      }
      const jobId = await submitJob(stack.url, token, spec, ids);
      await waitForIngest(stack.url, token, jobId, 30 * 60_000);
      ingestSeconds.push((performance.now() - t0) / 1000);
      const deadline = Date.now() + timeoutMinutes * 60_000;
      let job = await jobs.getJob(jobId);
      while (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) {
        if (Date.now() > deadline) {
          throw new BenchProcessError(
            `job ${jobId} is still ${job.status} after ${String(timeoutMinutes)} minutes`,
          );
        }
        await sleep(2000);
        job = await jobs.getJob(jobId);
      }
      const elapsed = (performance.now() - t0) / 1000;
      if (job.status !== 'COMPLETED' || job.selected === undefined) {
        throw new BenchProcessError(
          `job ${jobId} ended ${job.status} without a selected model: ${job.failureReason ?? job.cancelReason ?? 'no reason on the ledger'}`,
        );
      }
      seconds.push(elapsed);
      const score = job.selected.metrics['accuracy'];
      if (score !== undefined) accuracy.push(score);
      if (repeat === 0)
        notes.push(
          `Selection rule: ${job.selected.rule}; agreeing orgs: ${job.selected.agreeingOrgs.join(', ')}.`,
        );
    }
  } finally {
    connection.close();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const figures: Figure[] = [
    {
      label: `${dataset}: upload to selected model (certified on the ledger)`,
      unit: 's',
      values: seconds,
      reference: `of which upload and ingest: ${ingestSeconds.map((s) => s.toFixed(1)).join(', ')} s; validation deadline ${String(validationMinutes)} min`,
    },
    {
      label: `${dataset}: holdout accuracy of the selected model`,
      unit: 'accuracy',
      values: accuracy,
      ...(fashion ? { goal: { op: '>=' as const, value: 0.91 } } : {}),
    },
  ];
  return {
    name: 'e2e',
    title: `End to end: ${dataset} from upload to certified model`,
    startedAt: '',
    seconds: 0,
    quick: options.quick,
    repeats: options.repeats,
    loadBefore,
    setup: [
      `Data: ${files.map((f) => path.basename(f)).join(', ')} uploaded with tus to the Org1 gateway as Org1/user1; spec fixtures/${dataset}/spec.json (four trials) with deadlines ${String(trainingMinutes)}/${String(validationMinutes)} min from submission, as \`decenter demo\` sets them.`,
      `Stack: Redis, devnet, gateways of Org1-3, executors ${EXECUTORS.join(' and ')}, validators ${VALIDATORS.join(' and ')}, each its own process on free ports. Timed until the job is COMPLETED on the ledger with a selected model; its holdout score is the one the validators agreed on.`,
      ...notes,
    ],
    figures,
    missing: [],
  };
}

export const e2eBenchmark: Benchmark = { name: 'e2e', run };

if (require.main === module) runStandalone(e2eBenchmark);
