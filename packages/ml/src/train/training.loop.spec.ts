import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Hyperparameters, ModelSpec, Optimizer } from '@decenter/core';
import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../backend/backend.init';
import { createModel } from '../model/model.factory';
import { loadFixture } from '../testing/tabular.fixture';
import { epochDir, readCheckpointState } from './checkpoint.store';
import { arrayDataSource } from './data.source';
import { predict, replayEpoch, train } from './training.loop';
import { accuracy, argMax } from '../metrics/metrics';

const iris = loadFixture('iris', 0.3, 42);
const mlp: ModelSpec = {
  kind: 'template',
  template: 'mlp',
  options: { hiddenUnits: [16, 8], activation: 'relu', dropout: 0.1 },
};
const shape = { inputShape: [4], task: 'classification' as const, numClasses: 3 };

function irisData(batchSize: number, shuffleSeed?: number) {
  return arrayDataSource({
    features: iris.train.features,
    targets: iris.train.labels,
    inputShape: [4],
    task: 'classification',
    numClasses: 3,
    batchSize,
    ...(shuffleSeed === undefined ? {} : { shuffleSeed }),
  });
}

const holdout = arrayDataSource({
  features: iris.holdout.features,
  targets: iris.holdout.labels,
  inputShape: [4],
  task: 'classification',
  numClasses: 3,
  batchSize: 64,
});

const hp = (optimizer: Optimizer = 'adam', epochs = 4, learningRate = 0.01): Hyperparameters => ({
  optimizer,
  learningRate,
  batchSize: 16,
  epochs,
});

async function trainIris(
  seed: number,
  hyperparameters: Hyperparameters,
  extra: Partial<Parameters<typeof train>[0]> = {},
) {
  const model = await createModel(mlp, { ...shape, seed });
  const result = await train({
    model,
    task: 'classification',
    data: irisData(hyperparameters.batchSize, seed),
    hyperparameters,
    seed,
    ...extra,
  });
  return { model, result };
}

let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'decenter-ml-train-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('train', () => {
  it('reaches at least 0.9 holdout accuracy on Iris with a fixed seed', async () => {
    const { model, result } = await trainIris(5, hp('adam', 40, 0.02), {
      validation: holdout,
      objective: 'accuracy',
    });
    const predictions = await predict(model, holdout, 'classification');
    if (predictions.task !== 'classification') throw new Error('expected class probabilities');
    const score = accuracy(
      predictions.labels,
      predictions.probabilities.map((p) => argMax(p)),
    );
    expect(iris.holdout.labels).toHaveLength(45);
    expect(score).toBeGreaterThanOrEqual(0.9);
    expect(result.history.at(-1)?.metric).toBeCloseTo(score, 10);
    expect(result.history.at(-1)?.loss).toBeLessThan(result.history[0]?.loss ?? 0);
    model.dispose();
  });

  it('gives bit-identical weights for the same seed, and different ones for another seed', async () => {
    const a = await trainIris(3, hp());
    const b = await trainIris(3, hp());
    const c = await trainIris(4, hp());
    expect(a.result.weightsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.result.weightsHash).toBe(a.result.weightsHash);
    expect(c.result.weightsHash).not.toBe(a.result.weightsHash);
    for (const run of [a, b, c]) run.model.dispose();
  });

  it.each<Optimizer>(['adam', 'sgd', 'rmsprop', 'adagrad'])(
    'resumes from an epoch checkpoint to the same weights as an uninterrupted run (%s)',
    async (optimizer) => {
      const full = path.join(dir, `full-${optimizer}`);
      const part = path.join(dir, `part-${optimizer}`);
      const uninterrupted = await trainIris(9, hp(optimizer, 4), { checkpointDir: full });
      const interrupted = await trainIris(9, hp(optimizer, 4), { checkpointDir: part, epochs: 2 });
      expect(interrupted.result.epochsRun).toBe(2);
      const resumed = await trainIris(9, hp(optimizer, 4), { resumeFrom: epochDir(part, 2) });
      expect(resumed.result.epochsRun).toBe(4);
      expect(resumed.result.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
      expect(resumed.result.weightsHash).toBe(uninterrupted.result.weightsHash);
      const replay = await replayEpoch({
        checkpoint: epochDir(full, 2),
        task: 'classification',
        data: irisData(16, 9),
      });
      expect(replay.epoch).toBe(3);
      expect(replay.weightsHash).toBe((await readCheckpointState(epochDir(full, 3))).weightsHash);
      for (const run of [uninterrupted, interrupted, resumed]) run.model.dispose();
    },
  );

  it('replaying an epoch on other data does not reproduce the checkpoint', async () => {
    const root = path.join(dir, 'replay-mismatch');
    const run = await trainIris(2, hp('adam', 2), { checkpointDir: root });
    const replay = await replayEpoch({
      checkpoint: epochDir(root, 1),
      task: 'classification',
      data: irisData(16, 99),
    });
    expect(replay.weightsHash).not.toBe(run.result.weightsHash);
    run.model.dispose();
  });

  it('frees its tensors: the tensor count does not grow over epochs', async () => {
    const counts: number[] = [];
    const { model } = await trainIris(1, hp('adam', 5), {
      validation: holdout,
      objective: 'log-loss',
      checkpointDir: path.join(dir, 'memory'),
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(counts).toHaveLength(5);
    expect(new Set(counts.slice(1)).size).toBe(1);
    model.dispose();
  });

  it('stops early when the validation objective stops improving', async () => {
    const seen: number[] = [];
    const { model, result } = await trainIris(1, hp('adam', 10), {
      validation: holdout,
      objective: 'accuracy',
      // No improvement can be this large, so every epoch after the first counts towards patience.
      earlyStopping: { patience: 2, minDelta: 10 },
      checkpointDir: path.join(dir, 'early'),
      onEpochEnd: (p) => {
        seen.push(p.epoch);
      },
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochsRun).toBe(3);
    expect(seen).toEqual([1, 2, 3]);
    expect(result.bestEpoch).toBe(1);
    // Resuming from the epoch that stopped training does not train on.
    const resumed = await trainIris(1, hp('adam', 10), {
      validation: holdout,
      objective: 'accuracy',
      earlyStopping: { patience: 2, minDelta: 10 },
      resumeFrom: epochDir(path.join(dir, 'early'), 3),
    });
    expect(resumed.result).toMatchObject({
      stoppedEarly: true,
      epochsRun: 3,
      weightsHash: result.weightsHash,
    });
    resumed.model.dispose();
    model.dispose();
  });

  it('trains a regression model and reports RMSE on the validation data', async () => {
    // y = 2a - b + 0.5 on a fixed grid: an MLP fits it closely within a few epochs.
    const points = Array.from({ length: 64 }, (_, i) => [((i % 8) - 3.5) / 4, (Math.floor(i / 8) - 3.5) / 4]);
    const features = Float32Array.from(points.flat());
    const targets = Float32Array.from(points.map(([a = 0, b = 0]) => 2 * a - b + 0.5));
    const data = arrayDataSource({
      features,
      targets,
      inputShape: [2],
      task: 'regression',
      batchSize: 8,
      shuffleSeed: 1,
    });
    const validation = arrayDataSource({
      features,
      targets,
      inputShape: [2],
      task: 'regression',
      batchSize: 64,
    });
    const model = await createModel(mlp, { inputShape: [2], task: 'regression', seed: 2 });
    const result = await train({
      model,
      task: 'regression',
      data,
      validation,
      objective: 'rmse',
      hyperparameters: hp('adam', 30, 0.02),
      seed: 2,
    });
    const first = result.history[0];
    const last = result.history.at(-1);
    expect(last?.metric).toBeLessThan(0.25);
    expect(last?.metric).toBeLessThan(first?.metric ?? 0);
    // For regression the validation loss is the MSE, the square of the RMSE objective.
    expect(last?.valLoss).toBeCloseTo((last?.metric ?? NaN) ** 2, 6);
    model.dispose();
  });

  it('seeds GaussianNoise and dropout layers of a declared topology per step', async () => {
    const spec: ModelSpec = {
      kind: 'topology',
      topology: {
        class_name: 'Sequential',
        config: {
          name: 'noisy',
          layers: [
            {
              class_name: 'GaussianNoise',
              config: { name: 'noise', stddev: 0.3, batch_input_shape: [null, 4] },
            },
            { class_name: 'Dense', config: { name: 'hidden', units: 8, activation: 'relu' } },
            { class_name: 'Dropout', config: { name: 'drop', rate: 0.3 } },
            { class_name: 'Dense', config: { name: 'out', units: 3, activation: 'softmax' } },
          ],
        },
      },
    };
    const run = async (seed: number) => {
      const model = await createModel(spec, { ...shape, seed: 1 });
      const result = await train({
        model,
        task: 'classification',
        data: irisData(16, 1),
        hyperparameters: hp('adam', 2),
        seed,
      });
      model.dispose();
      return result.weightsHash;
    };
    const first = await run(6);
    expect(await run(6)).toBe(first);
    // Same initial weights and data order, another trial seed: only the noise and dropout draws differ.
    expect(await run(7)).not.toBe(first);
  });

  it.each([false, true])(
    'trains the cnn template on wasm deterministically and resumes it exactly (batchNorm %s)',
    async (batchNorm) => {
      const count = 24;
      const features = new Float32Array(count * 8 * 8);
      const labels = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        labels[i] = i % 2;
        // Class 0 is bright in the top half, class 1 in the bottom half.
        for (let p = 0; p < 64; p++)
          features[i * 64 + p] = p < 32 === (i % 2 === 0) ? 1 : 0.1 * ((i + p) % 3);
      }
      const cnn: ModelSpec = {
        kind: 'template',
        template: 'cnn',
        options: { filters: [4], kernelSize: 3, denseUnits: 8, dropout: 0.25, batchNorm },
      };
      const root = path.join(dir, `cnn-${batchNorm}`);
      const run = async (extra: Partial<Parameters<typeof train>[0]>) => {
        const model = await createModel(cnn, {
          inputShape: [8, 8, 1],
          task: 'classification',
          numClasses: 2,
          seed: 5,
        });
        const data = arrayDataSource({
          features,
          targets: labels,
          inputShape: [8, 8, 1],
          task: 'classification',
          numClasses: 2,
          batchSize: 8,
          shuffleSeed: 5,
        });
        const hyperparameters = { ...hp('adam', 3, 0.01), batchSize: 8 };
        const result = await train({
          model,
          task: 'classification',
          data,
          hyperparameters,
          seed: 5,
          ...extra,
        });
        model.dispose();
        return result;
      };
      const first = await run({ checkpointDir: root });
      const second = await run({});
      expect(second.weightsHash).toBe(first.weightsHash);
      expect(first.history.at(-1)?.loss).toBeLessThan(first.history[0]?.loss ?? 0);
      const resumed = await run({ resumeFrom: epochDir(root, 1) });
      expect(resumed.weightsHash).toBe(first.weightsHash);
    },
  );
});
