import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import { JobsClient, LedgerConnection, loadNetworkConfig } from '@decenter/ledger';
import { digestFile } from '@decenter/storage';

import { runStandalone, type Benchmark } from './lib/benchmark';
import { createUpload, patchFile, submitJob, waitForIngest } from './lib/gateway-client';
import { loadAverage, repoRoot } from './lib/machine';
import { numberOption, type BenchOptions } from './lib/options';
import { BenchProcessError, ManagedProcess, runCommand, sleep } from './lib/processes';
import type { BenchReport, Figure } from './lib/report';
import {
  registerValidators,
  signIn,
  startDevnetProcess,
  startGatewayProcess,
  startRedis,
  type GatewayProcess,
} from './lib/stack';

/**
 * bench/training, two parts:
 * 1. samples/s of the CNN on Fashion-MNIST with each tfjs backend and with PyTorch on CPU, by the
 *    ML package's bench/training/cnn-throughput.js (one child process per backend; same batch size; PyTorch
 *    on as many threads as the wasm backend uses).
 * 2. trial throughput of one execution-node process against two (Org1's and Org2's executors) on the
 *    same job shape: four one-epoch trials of the CNN on a Fashion-MNIST subset, ingested through the
 *    gateway; timed from starting the node(s) until every trial is committed on the ledger.
 */

const FASHION_DIR = process.env['FASHION_MNIST_DIR'] ?? '/usr/share/datasets/fashion-mnist';

interface ThroughputResult {
  runtime: string;
  backend?: string;
  batchSize?: number;
  wasmThreads?: boolean;
  samplesPerSecond?: number;
  error?: string;
  available?: boolean;
}

async function samplesPerSecond(samples: number, batch: number, maxSeconds: number) {
  const script = path.join(repoRoot(), 'bench', 'training', 'cnn-throughput.js');
  const args = [
    script,
    '--backends',
    'wasm,cpu',
    '--samples',
    String(samples),
    '--batch',
    String(batch),
    // The cpu backend's convolution gradients are naive loops: at batch 64 one step outlasts the bound,
    // so it trains at batch 8 and its figure says so.
    '--cpu-batch',
    '8',
    '--max-seconds',
    String(maxSeconds),
    '--torch-threads',
    '1',
  ];
  const result = await runCommand(process.execPath, args, { timeoutMs: (maxSeconds * 10 + 600) * 1000 });
  const start = result.stdout.indexOf('{');
  if (result.code !== 0 || start < 0) {
    throw new BenchProcessError(
      `cnn-throughput.js failed (${String(result.code)}): ${result.stderr.slice(-800)}`,
    );
  }
  return (JSON.parse(result.stdout.slice(start)) as { results: ThroughputResult[] }).results;
}

/** The first `count` Fashion-MNIST training images and labels as plain IDX files, as a user would upload them. */
async function fashionSubset(dir: string, count: number): Promise<{ images: string; labels: string }> {
  await mkdir(dir, { recursive: true });
  const read = async (name: string) => gunzipSync(await readFile(path.join(FASHION_DIR, name)));
  let images: Buffer;
  let labels: Buffer;
  try {
    images = await read('train-images-idx3-ubyte.gz');
    labels = await read('train-labels-idx1-ubyte.gz');
  } catch (error) {
    throw new BenchProcessError(
      `cannot read Fashion-MNIST in ${FASHION_DIR}: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`,
      { cause: error },
    );
  }
  const imageHead = Buffer.from(images.subarray(0, 16));
  imageHead.writeUInt32BE(count, 4);
  const labelHead = Buffer.from(labels.subarray(0, 8));
  labelHead.writeUInt32BE(count, 4);
  const files = {
    images: path.join(dir, 'train-images-idx3-ubyte'),
    labels: path.join(dir, 'train-labels-idx1-ubyte'),
  };
  await writeFile(files.images, Buffer.concat([imageHead, images.subarray(16, 16 + count * 784)]));
  await writeFile(files.labels, Buffer.concat([labelHead, labels.subarray(8, 8 + count)]));
  return files;
}

/**
 * The job whose trials are timed: 8 trials of 2 epochs, so that training (what a second node adds capacity
 * for) outweighs the fixed start-up and ledger work of each node, as it does in a real job.
 */
const TRIAL_EPOCHS = 2;
const TRIAL_SEEDS = [1, 2, 3, 4];

function trialSpec(tag: string): Record<string, unknown> {
  return {
    name: `bench-trials-${tag}`,
    task: 'classification',
    model: {
      kind: 'template',
      template: 'cnn',
      options: { filters: [32, 64], kernelSize: 3, denseUnits: 128, dropout: 0.25, batchNorm: false },
    },
    data: { format: 'idx', split: { train: 0.8, validation: 0.1, holdout: 0.1 }, splitSeed: 42 },
    search: {
      strategy: 'grid',
      learningRate: [0.001, 0.002],
      batchSize: [64],
      epochs: [TRIAL_EPOCHS],
      optimizer: ['adam'],
      seeds: TRIAL_SEEDS,
    },
    objective: { metric: 'accuracy' },
    schedule: { trainingDeadline: '2030-01-01T04:00:00Z', validationDeadline: '2030-01-01T05:00:00Z' },
  };
}

interface TrialStack {
  home: string;
  gateway: GatewayProcess;
  token: string;
  jobs: JobsClient;
  uploadJob(tag: string): Promise<string>;
  close(): Promise<void>;
}

async function startTrialStack(dir: string, files: { images: string; labels: string }): Promise<TrialStack> {
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const redis = await startRedis(path.join(dir, 'redis'));
  const devnet = await startDevnetProcess(home);
  await registerValidators(home);
  const gateway = await startGatewayProcess(home, 'Org1', redis.url);
  const token = await signIn(gateway, 'user1');
  const config = await loadNetworkConfig(path.join(home, 'network.json'));
  const connection = await LedgerConnection.open({ config, identity: 'Org1/user1' });
  const digests = {
    images: (await digestFile(files.images)).digest,
    labels: (await digestFile(files.labels)).digest,
  };
  return {
    home,
    gateway,
    token,
    jobs: new JobsClient(connection),
    async uploadJob(tag) {
      const ids: string[] = [];
      for (const [file, digest] of [
        [files.images, digests.images],
        [files.labels, digests.labels],
      ] as const) {
        const { size } = await stat(file);
        const id = await createUpload(gateway.url, token, size, { filename: path.basename(file), digest });
        await patchFile(gateway.url, token, id, file);
        ids.push(id);
      }
      const jobId = await submitJob(gateway.url, token, trialSpec(tag), ids);
      await waitForIngest(gateway.url, token, jobId, 10 * 60_000);
      return jobId;
    },
    async close() {
      connection.close();
      await gateway.stop();
      await devnet.stop();
      await redis.stop();
    },
  };
}

/** Starts `identities` as execution-node processes and times them until every trial of `jobId` is settled. */
async function timeTrials(stack: TrialStack, jobId: string, identities: string[], timeoutMs: number) {
  const main = path.join(repoRoot(), 'execution-node', 'dist', 'src', 'main.js');
  const nodes: ManagedProcess[] = [];
  const t0 = performance.now();
  try {
    for (const identity of identities) {
      const configFile = path.join(stack.home, `${identity.replace('/', '-')}.node.json`);
      await writeFile(configFile, JSON.stringify({ concurrency: 1, offers: { cores: 1 }, pollSeconds: 1 }));
      nodes.push(
        ManagedProcess.start(
          identity,
          process.execPath,
          [main, '--identity', identity, '--home', stack.home, '--config', configFile],
          {
            env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? stack.home },
            logFile: path.join(stack.home, `${identity.replace('/', '-')}.log`),
          },
        ),
      );
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const trials = await stack.jobs.listTrials(jobId);
      const settled = trials.filter((trial) => trial.status === 'COMMITTED' || trial.status === 'FAILED');
      if (trials.length > 0 && settled.length === trials.length) {
        const failed = trials.filter((trial) => trial.status === 'FAILED').length;
        if (failed > 0) {
          const reasons = trials
            .filter((trial) => trial.status === 'FAILED')
            .map((trial) => `${trial.trialId}: ${trial.failureReason ?? 'no reason on the ledger'}`);
          throw new BenchProcessError(
            `${String(failed)} trial(s) of ${jobId} failed (${reasons.join('; ')})`,
          );
        }
        return { seconds: (performance.now() - t0) / 1000, trials: trials.length };
      }
      const dead = nodes.find((node) => !node.alive);
      if (dead !== undefined) throw new BenchProcessError(`${dead.name} exited: ${dead.tail(800)}`);
      if (Date.now() > deadline)
        throw new BenchProcessError(`trials of ${jobId} not settled in ${String(timeoutMs / 1000)} s`);
      await sleep(500);
    }
  } finally {
    for (const node of nodes) await node.stop(5000);
  }
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const samples = numberOption(options, 'samples', options.quick ? 256 : 2048);
  const batch = numberOption(options, 'batch', 64);
  const maxSeconds = numberOption(options, 'max-seconds', options.quick ? 5 : 20);
  const trialImages = numberOption(options, 'trial-images', options.quick ? 400 : 4000);
  const dir = path.join(options.workDir, 'training');
  await rm(dir, { recursive: true, force: true });
  const loadBefore: number[][] = [];
  const perBackend = new Map<string, number[]>();
  const notes: string[] = [];
  const missing: string[] = [];
  const ratioWasm: number[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    loadBefore.push(loadAverage());
    const results = await samplesPerSecond(samples, batch, maxSeconds);
    for (const result of results) {
      const key = result.runtime === 'pytorch' ? 'PyTorch CPU' : `tfjs ${result.backend ?? '?'}`;
      if (result.samplesPerSecond === undefined) {
        if (repeat === 0)
          missing.push(
            `${key}: ${result.error ?? (result.available === false ? 'backend not available here' : 'no result')}`,
          );
        continue;
      }
      if (result.wasmThreads !== undefined && repeat === 0)
        notes.push(`tfjs wasm: multi-threaded ${String(result.wasmThreads)}.`);
      perBackend.set(key, [...(perBackend.get(key) ?? []), result.samplesPerSecond]);
    }
    const wasm = results.find((r) => r.backend === 'wasm' && r.runtime === 'tfjs')?.samplesPerSecond;
    const torch = results.find((r) => r.runtime === 'pytorch')?.samplesPerSecond;
    if (wasm !== undefined && torch !== undefined) ratioWasm.push(wasm / torch);
  }
  const torchText = (perBackend.get('PyTorch CPU') ?? []).map((x) => x.toFixed(0)).join(', ');
  const figures: Figure[] = [...perBackend.entries()].map(([key, values]) => ({
    label: `CNN training, ${key}, batch ${key === 'tfjs cpu' ? '8' : String(batch)}`,
    unit: 'samples/s',
    values,
    ...(key === 'PyTorch CPU'
      ? {}
      : { reference: `PyTorch CPU (1 thread) in the same repeats: ${torchText} samples/s` }),
  }));
  figures.push({
    label: 'tfjs wasm / PyTorch CPU',
    unit: 'x',
    values: ratioWasm,
    goal: { op: '>=', value: 0.5 },
  });

  // Part 2: one execution node against two.
  const files = await fashionSubset(path.join(dir, 'data'), trialImages);
  const stack = await startTrialStack(dir, files);
  const one: number[] = [];
  const two: number[] = [];
  const speedup: number[] = [];
  try {
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      // A repeat whose job has a failed trial is reported and left out; the other repeats still count.
      try {
        loadBefore.push(loadAverage());
        const jobOne = await stack.uploadJob(`one-${String(repeat)}`);
        const single = await timeTrials(stack, jobOne, ['Org1/executor1'], 30 * 60_000);
        loadBefore.push(loadAverage());
        const jobTwo = await stack.uploadJob(`two-${String(repeat)}`);
        const pair = await timeTrials(stack, jobTwo, ['Org1/executor1', 'Org2/executor1'], 30 * 60_000);
        const rateOne = (single.trials / single.seconds) * 60;
        const rateTwo = (pair.trials / pair.seconds) * 60;
        one.push(rateOne);
        two.push(rateTwo);
        speedup.push(rateTwo / rateOne);
      } catch (error) {
        missing.push(
          `trial throughput, repeat ${String(repeat + 1)}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  } finally {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
  figures.push(
    { label: 'trial throughput, 1 execution node', unit: 'trials/min', values: one },
    {
      label: 'trial throughput, 2 execution nodes',
      unit: 'trials/min',
      values: two,
      reference: `1 node in the same repeats: ${one.map((x) => x.toFixed(2)).join(', ')} trials/min`,
    },
    { label: '2 nodes / 1 node', unit: 'x', values: speedup, goal: { op: '>=', value: 1.8 } },
  );
  return {
    name: 'training',
    title: 'Training: samples/s per backend, and one execution node against two',
    startedAt: '',
    seconds: 0,
    quick: options.quick,
    repeats: options.repeats,
    loadBefore,
    setup: [
      `Model: the cnn template (28x28x1 -> conv 32 3x3 -> pool -> conv 64 3x3 -> pool -> dense 128 -> dropout 0.25 -> 10), Adam 0.001, batch ${String(batch)} for every backend and PyTorch (Debian python3-torch, 1 thread); the first ${String(samples)} Fashion-MNIST training images, each run bounded to ${String(maxSeconds)} s after a one-batch warm-up (bench/training/cnn-throughput.js and cnn_torch.py).`,
      `Trial throughput: a job of ${String(2 * TRIAL_SEEDS.length)} trials (learning rate 0.001/0.002 x seeds ${TRIAL_SEEDS.join('/')}, ${String(TRIAL_EPOCHS)} epochs, batch 64, no batch normalization) on the first ${String(trialImages)} Fashion-MNIST training images (80 % train), ingested through the Org1 gateway; execution-node processes (Org1/executor1, and Org2/executor1 for two) with concurrency 1, timed from their start until every trial is COMMITTED on the ledger (node start-up included in both).`,
      ...notes,
    ],
    figures,
    missing,
  };
}

export const trainingBenchmark: Benchmark = { name: 'training', run };

if (require.main === module) runStandalone(trainingBenchmark);
