'use strict';
/**
 * Training throughput of the small CNN (28x28x1 -> conv 32 3x3 -> pool -> conv 64 3x3 -> pool ->
 * dense 128 -> 10) on Fashion-MNIST, with every TensorFlow.js backend that starts here and with PyTorch on
 * CPU, in one run on one machine. Prints JSON; writes nothing.
 *
 *   npx tsc -b packages/ml && node bench/training/cnn-throughput.js [--samples 2048] [--batch 64]
 *     [--max-seconds 30] [--backends tensorflow-gpu,tensorflow,wasm,cpu] [--cpu-batch 8] [--torch-threads 1]
 *     [--no-torch]
 *
 * Each backend trains in its own child process so one's kernels and memory do not affect another. The
 * cpu backend's convolution gradients are naive loops (a batch of 64 takes tens of seconds), so it trains
 * with --cpu-batch and every run is also bounded by --max-seconds; each result records its batch size.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');

const { loadFashionMnist } = require('./fashion-mnist');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

const CNN = {
  kind: 'template',
  template: 'cnn',
  options: { filters: [32, 64], kernelSize: 3, denseUnits: 128, dropout: 0.25, batchNorm: false },
};

async function child(backend, samples, batchSize, maxSeconds) {
  const ml = require('@decenter/ml');
  const info = await ml.initBackend(backend);
  if (info.name !== backend) return { runtime: 'tfjs', backend, available: false, got: info.name };
  const data = loadFashionMnist(samples);
  const source = (count) =>
    ml.arrayDataSource({
      features: data.features.subarray(0, count * 784),
      targets: data.labels.subarray(0, count),
      inputShape: [28, 28, 1],
      task: 'classification',
      numClasses: 10,
      batchSize,
      shuffleSeed: 1,
    });
  const build = () =>
    ml.createModel(CNN, { inputShape: [28, 28, 1], task: 'classification', numClasses: 10, seed: 1 });
  const hyperparameters = { optimizer: 'adam', learningRate: 0.001, batchSize, epochs: 1 };
  // Warm-up: the first steps compile kernels and allocate; they are not what a long job sees.
  const warm = await build();
  await ml.train({
    model: warm,
    task: 'classification',
    data: source(batchSize),
    hyperparameters,
    seed: 1,
  });
  warm.dispose();
  // Bound the run by time: stop the data source once maxSeconds have passed.
  const model = await build();
  const bounded = source(data.count);
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let seen = 0;
  const limited = {
    async *batches(epoch) {
      for await (const batch of bounded.batches(epoch)) {
        if ((performance.now() - started) / 1000 > maxSeconds) {
          batch.xs.dispose();
          batch.ys.dispose();
          return;
        }
        seen += batch.xs.shape[0];
        yield batch;
      }
    },
  };
  const result = await ml.train({ model, task: 'classification', data: limited, hyperparameters, seed: 1 });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  model.dispose();
  return {
    runtime: 'tfjs',
    backend: info.name,
    batchSize,
    ...(info.wasmSimd === undefined ? {} : { wasmSimd: info.wasmSimd, wasmThreads: info.wasmThreads }),
    samples: seen,
    seconds: Number(seconds.toFixed(3)),
    samplesPerSecond: Number((seen / seconds).toFixed(1)),
    samplesPerCpuSecond: Number((seen / ((cpu.user + cpu.system) / 1e6)).toFixed(1)),
    loss: Number((result.history[0]?.loss ?? NaN).toFixed(4)),
  };
}

function parent() {
  const samples = Number(option('samples', '2048'));
  const batchSize = Number(option('batch', '64'));
  const maxSeconds = Number(option('max-seconds', '30'));
  const backends = option('backends', 'tensorflow-gpu,tensorflow,wasm,cpu').split(',');
  const results = [];
  const cpuBatch = Number(option('cpu-batch', '8'));
  for (const backend of backends) {
    const batch = backend === 'cpu' ? cpuBatch : batchSize;
    const run = spawnSync(
      process.execPath,
      [
        __filename,
        '--child',
        backend,
        '--samples',
        String(samples),
        '--batch',
        String(batch),
        '--max-seconds',
        String(maxSeconds),
      ],
      { encoding: 'utf8', timeout: (maxSeconds * 3 + 120) * 1000 },
    );
    const line = run.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop();
    results.push(
      line
        ? JSON.parse(line)
        : { runtime: 'tfjs', backend, error: run.error ? String(run.error) : run.stderr.slice(-500) },
    );
  }
  if (!process.argv.includes('--no-torch')) {
    const threads = option('torch-threads', '1');
    try {
      const out = execFileSync(
        '/usr/bin/python3',
        [
          path.join(__dirname, 'cnn_torch.py'),
          String(samples),
          String(batchSize),
          threads,
          String(maxSeconds),
        ],
        { encoding: 'utf8', timeout: (maxSeconds + 120) * 1000 },
      );
      results.push(JSON.parse(out.trim().split('\n').pop()));
    } catch (error) {
      results.push({ runtime: 'pytorch', error: String(error.message).slice(-500) });
    }
  }
  const torch = results.find((r) => r.runtime === 'pytorch' && r.samplesPerSecond);
  for (const r of results) {
    if (torch && r.runtime === 'tfjs' && r.samplesPerSecond) {
      r.vsPytorch = Number((r.samplesPerSecond / torch.samplesPerSecond).toFixed(3));
      r.vsPytorchCpuTime = Number((r.samplesPerCpuSecond / torch.samplesPerCpuSecond).toFixed(3));
    }
  }
  const machine = {
    cpus: require('node:os').cpus().length,
    loadavg: require('node:os')
      .loadavg()
      .map((l) => Number(l.toFixed(2))),
  };
  console.log(
    JSON.stringify(
      {
        model: 'cnn 28x28x1 c32-p-c64-p-d128-10',
        data: 'fashion-mnist',
        batchSize,
        samples,
        maxSeconds,
        machine,
        results,
      },
      null,
      2,
    ),
  );
}

if (process.argv.includes('--child')) {
  const backend = option('child', 'wasm');
  child(
    backend,
    Number(option('samples', '2048')),
    Number(option('batch', '64')),
    Number(option('max-seconds', '30')),
  )
    .then((r) => console.log(JSON.stringify(r)))
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    });
} else {
  parent();
}
