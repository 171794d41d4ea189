import { METRIC_DIRECTION, type Hyperparameters, type Metric, type Task } from '@decenter/core';
import * as tf from '@tensorflow/tfjs';

import { hashWeights } from '../artifacts/artifact.store';
import { argMax, logLoss, meanSquaredError, scoreMetric, type Predictions } from '../metrics/metrics';
import { TrainingError } from '../ml.errors';
import { deriveSeed, lossForTask } from '../model/model.factory';
import { loadModel } from '../model/model.loader';
import {
  readCheckpointState,
  restoreCheckpoint,
  writeCheckpoint,
  type CheckpointState,
  type EpochProgress,
} from './checkpoint.store';
import type { DataSource } from './data.source';

export interface TrainOptions {
  model: tf.LayersModel;
  task: Task;
  data: DataSource;
  validation?: DataSource;
  hyperparameters: Hyperparameters;
  seed: number;
  /** Last epoch to train (defaults to hyperparameters.epochs). */
  epochs?: number;
  /** Objective scored on the validation data each epoch (early stopping follows it). */
  objective?: Metric;
  earlyStopping?: { patience: number; minDelta: number };
  onEpochEnd?: (progress: EpochProgress) => void | Promise<void>;
  /** A checkpoint (weights + optimizer state) is written under this directory after every epoch. */
  checkpointDir?: string;
  /** An epoch directory written by a previous run; training continues with the epoch after it. */
  resumeFrom?: string;
}

export interface TrainResult {
  history: EpochProgress[];
  epochsRun: number;
  stoppedEarly: boolean;
  bestEpoch?: number;
  bestMetric?: number;
  weightsHash: string;
}

export function createOptimizer(hyperparameters: Hyperparameters): tf.Optimizer {
  const { optimizer, learningRate } = hyperparameters;
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new TrainingError(
      'INVALID_ARGUMENT',
      `learning rate must be a positive number, got ${learningRate}`,
    );
  }
  switch (optimizer) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
    case 'adagrad':
      return tf.train.adagrad(learningRate);
  }
}

const DROPOUT_CLASSES = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D']);

/**
 * Makes every random layer draw from a seed fixed by (trial seed, epoch, step, layer): tfjs would
 * otherwise seed dropout masks and noise from Math.random, and no two runs would agree.
 */
function seedRandomLayers(model: tf.LayersModel, seed: number): (epoch: number, step: number) => void {
  const setters: ((epoch: number, step: number) => void)[] = [];
  model.layers.forEach((layer, index) => {
    const className = layer.getClassName();
    if (DROPOUT_CLASSES.has(className)) {
      const target = layer as unknown as { seed?: number };
      setters.push((epoch, step) => {
        target.seed = deriveSeed(seed, 'dropout', index, epoch, step);
      });
    } else if (className === 'GaussianNoise') {
      const stddev = (layer as unknown as { stddev: number }).stddev;
      let stepSeed = 0;
      layer.call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) =>
        tf.tidy(() => {
          const input = Array.isArray(inputs) ? inputs[0] : inputs;
          if (input === undefined) throw new TrainingError('INTERNAL', 'GaussianNoise called without input');
          if (kwargs.training !== true) return input.clone();
          return tf.add(input, tf.randomNormal(input.shape, 0, stddev, 'float32', stepSeed));
        });
      setters.push((epoch, step) => {
        stepSeed = deriveSeed(seed, 'noise', index, epoch, step);
      });
    }
  });
  return (epoch, step) => {
    for (const set of setters) set(epoch, step);
  };
}

/** Runs the model over a data source and gathers predictions for scoring (labels from one-hot ys). */
export async function predict(model: tf.LayersModel, source: DataSource, task: Task): Promise<Predictions> {
  const labels: number[] = [];
  const probabilities: Float32Array[] = [];
  const targets: number[] = [];
  const values: number[] = [];
  for await (const { xs, ys } of source.batches(0)) {
    const output = model.predict(xs) as tf.Tensor;
    const [out, truth] = await Promise.all([output.data(), ys.data()]);
    tf.dispose([xs, ys, output]);
    const width = output.shape[1] ?? 1;
    for (let i = 0; i < out.length / width; i++) {
      if (task === 'classification') {
        probabilities.push(Float32Array.from(out.subarray(i * width, (i + 1) * width)));
        labels.push(argMax(truth.subarray(i * width, (i + 1) * width)));
      }
    }
    if (task === 'regression') {
      for (const v of out) values.push(v);
      for (const v of truth) targets.push(v);
    }
  }
  return task === 'classification' ? { task, labels, probabilities } : { task, targets, values };
}

function isBetter(metric: Metric, value: number, best: number | undefined, minDelta: number): boolean {
  if (best === undefined) return true;
  return METRIC_DIRECTION[metric] === 'maximize' ? value > best + minDelta : value < best - minDelta;
}

/**
 * Trains `model` epoch by epoch with the trial's optimizer and learning rate. Deterministic: batches
 * come from the data source in an order fixed by the epoch, random layers are seeded per step, and a
 * checkpoint after each epoch holds weights and optimizer state, so a resumed or replayed run ends
 * bit-identical to an uninterrupted one on the same backend.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { model, task, hyperparameters, seed } = options;
  const lastEpoch = options.epochs ?? hyperparameters.epochs;
  const optimizer = createOptimizer(hyperparameters);
  model.compile({ optimizer, loss: lossForTask(task) });
  const seedLayers = seedRandomLayers(model, seed);

  let state: CheckpointState = { epoch: 0, seed, hyperparameters, history: [], wait: 0, weightsHash: '' };
  if (options.resumeFrom !== undefined) {
    state = await restoreCheckpoint(options.resumeFrom, model, optimizer);
    if (state.seed !== seed || state.hyperparameters.optimizer !== hyperparameters.optimizer) {
      throw new TrainingError(
        'INVALID_ARGUMENT',
        `checkpoint ${options.resumeFrom} belongs to another trial`,
        {
          hint: 'Resume with the seed and hyperparameters the checkpoint was trained with.',
        },
      );
    }
  }
  // A checkpoint taken at the epoch that triggered early stopping resumes as stopped.
  let stoppedEarly = options.earlyStopping !== undefined && state.wait >= options.earlyStopping.patience;
  try {
    for (let epoch = state.epoch + 1; epoch <= lastEpoch && !stoppedEarly; epoch++) {
      const started = performance.now();
      let samples = 0;
      let lossSum = 0;
      let step = 0;
      for await (const { xs, ys } of options.data.batches(epoch)) {
        seedLayers(epoch, step++);
        const size = xs.shape[0];
        try {
          const loss = await model.trainOnBatch(xs, ys);
          lossSum += (Array.isArray(loss) ? (loss[0] ?? NaN) : loss) * size;
        } finally {
          tf.dispose([xs, ys]);
        }
        samples += size;
      }
      if (samples === 0) throw new TrainingError('INVALID_DATA', `epoch ${epoch} had no training samples`);
      const seconds = (performance.now() - started) / 1000;
      const progress: EpochProgress = {
        epoch,
        loss: lossSum / samples,
        samplesPerSecond: seconds > 0 ? samples / seconds : samples,
        weightsHash: await hashWeights(model),
      };
      if (!Number.isFinite(progress.loss)) {
        throw new TrainingError(
          'FAILED_PRECONDITION',
          `training diverged at epoch ${epoch} (loss ${progress.loss})`,
          {
            hint: 'Lower the learning rate or normalize the features.',
          },
        );
      }
      let { bestMetric, bestEpoch, wait } = state;
      if (options.validation !== undefined) {
        const predictions = await predict(model, options.validation, task);
        progress.valLoss =
          predictions.task === 'classification'
            ? logLoss(predictions.labels, predictions.probabilities)
            : meanSquaredError(predictions.targets, predictions.values);
        if (options.objective !== undefined) {
          const metric = scoreMetric(options.objective, predictions);
          progress.metric = metric;
          if (isBetter(options.objective, metric, bestMetric, options.earlyStopping?.minDelta ?? 0)) {
            bestMetric = metric;
            bestEpoch = epoch;
            wait = 0;
          } else {
            wait++;
          }
          if (options.earlyStopping !== undefined && wait >= options.earlyStopping.patience)
            stoppedEarly = true;
        }
      }
      state = {
        epoch,
        seed,
        hyperparameters,
        history: [...state.history, progress],
        wait,
        weightsHash: progress.weightsHash,
        ...(bestMetric === undefined ? {} : { bestMetric }),
        ...(bestEpoch === undefined ? {} : { bestEpoch }),
      };
      if (options.checkpointDir !== undefined)
        await writeCheckpoint(options.checkpointDir, model, optimizer, state);
      await options.onEpochEnd?.(progress);
    }
  } finally {
    // compile() was given this optimizer, so the model does not own (or free) it.
    optimizer.dispose();
  }
  return {
    history: state.history,
    epochsRun: state.epoch,
    stoppedEarly,
    ...(state.bestEpoch === undefined ? {} : { bestEpoch: state.bestEpoch }),
    ...(state.bestMetric === undefined ? {} : { bestMetric: state.bestMetric }),
    weightsHash: state.weightsHash === '' ? await hashWeights(model) : state.weightsHash,
  };
}

/**
 * Validator replay: loads the checkpoint of epoch k-1, trains epoch k on the same data with the same
 * seed and hyperparameters, and returns the resulting weights hash, to compare with checkpoint k's.
 */
export async function replayEpoch(options: {
  checkpoint: string;
  task: Task;
  data: DataSource;
}): Promise<{ epoch: number; weightsHash: string }> {
  const state = await readCheckpointState(options.checkpoint);
  const model = await loadModel(options.checkpoint);
  try {
    const result = await train({
      model,
      task: options.task,
      data: options.data,
      hyperparameters: state.hyperparameters,
      seed: state.seed,
      epochs: state.epoch + 1,
      resumeFrom: options.checkpoint,
    });
    return { epoch: state.epoch + 1, weightsHash: result.weightsHash };
  } finally {
    model.dispose();
  }
}
