import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { canonicalJson, type Hyperparameters } from '@decenter/core';
import * as tf from '@tensorflow/tfjs';

import { directoryHandler, hashWeights, readArtifacts } from '../artifacts/artifact.store';
import { TrainingError } from '../ml.errors';

export const STATE_JSON = 'state.json';
const OPTIMIZER_JSON = 'optimizer.json';
const OPTIMIZER_BIN = 'optimizer.bin';

export interface EpochProgress {
  /** 1-based epoch number. */
  epoch: number;
  loss: number;
  valLoss?: number;
  /** The objective metric on the validation data. */
  metric?: number;
  samplesPerSecond: number;
  /** SHA-256 of the weights after this epoch (see `hashWeights`). */
  weightsHash: string;
}

/** Everything besides tensors that training needs to continue exactly where a checkpoint was taken. */
export interface CheckpointState {
  epoch: number;
  seed: number;
  hyperparameters: Hyperparameters;
  history: EpochProgress[];
  bestMetric?: number;
  bestEpoch?: number;
  /** Epochs since the objective last improved (early stopping). */
  wait: number;
  weightsHash: string;
}

/** Adam keeps its bias corrections in variables that `setWeights` recomputes with pow(), which can differ
 * in the last bit from the running product; they are saved and restored as they were. */
interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}
const ADAM_EXTRAS = ['accBeta1', 'accBeta2'] as const;
const EXTRA_PREFIX = '__decenter__/';

export function epochDir(root: string, epoch: number): string {
  return path.join(root, `epoch-${String(epoch).padStart(4, '0')}`);
}

/** Writes the checkpoint of one epoch: model artifacts, optimizer state and `state.json` (written last). */
export async function writeCheckpoint(
  root: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  state: CheckpointState,
): Promise<string> {
  const dir = epochDir(root, state.epoch);
  await mkdir(dir, { recursive: true });
  await model.save(directoryHandler(dir));
  const named = await optimizer.getWeights();
  const internals = optimizer as unknown as AdamInternals;
  for (const key of ADAM_EXTRAS) {
    const variable = internals[key];
    if (variable !== undefined) named.push({ name: `${EXTRA_PREFIX}${key}`, tensor: variable });
  }
  try {
    const { data, specs } = await tf.io.encodeWeights(named);
    await writeFile(path.join(dir, OPTIMIZER_BIN), new Uint8Array(tf.io.CompositeArrayBuffer.join(data)));
    await writeFile(
      path.join(dir, OPTIMIZER_JSON),
      canonicalJson({ className: optimizer.getClassName(), specs }),
    );
  } finally {
    // getWeights() makes a fresh scalar for the iteration count; the rest are the optimizer's own variables.
    for (const { name, tensor } of named) if (name === 'iter') tensor.dispose();
  }
  const temp = path.join(dir, `${STATE_JSON}.tmp`);
  await writeFile(temp, canonicalJson(state));
  await rename(temp, path.join(dir, STATE_JSON));
  return dir;
}

export async function readCheckpointState(dir: string): Promise<CheckpointState> {
  try {
    return JSON.parse(await readFile(path.join(dir, STATE_JSON), 'utf8')) as CheckpointState;
  } catch (cause) {
    throw new TrainingError('NOT_FOUND', `${dir} is not a complete checkpoint (no readable ${STATE_JSON})`, {
      cause,
      hint: 'Resume from the latest complete epoch directory (see latestCheckpoint).',
    });
  }
}

/** The newest complete checkpoint under `root`, or undefined when there is none. */
export async function latestCheckpoint(root: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return undefined;
  }
  for (const name of names
    .filter((n) => /^epoch-\d{4}$/.test(n))
    .sort()
    .reverse()) {
    const dir = path.join(root, name);
    try {
      await readFile(path.join(dir, STATE_JSON));
      return dir;
    } catch {
      // An epoch interrupted while being written has no state.json yet; the one before it is complete.
    }
  }
  return undefined;
}

/** Loads a checkpoint's weights into `model` and its optimizer state into `optimizer`; returns its state. */
export async function restoreCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
): Promise<CheckpointState> {
  const state = await readCheckpointState(dir);
  const artifacts = await readArtifacts(dir);
  const weights = tf.io.decodeWeights(
    artifacts.weightData ?? new ArrayBuffer(0),
    artifacts.weightSpecs ?? [],
  );
  const specs = artifacts.weightSpecs ?? [];
  if (specs.length !== model.weights.length) {
    tf.dispose(Object.values(weights));
    throw new TrainingError(
      'INVALID_ARGUMENT',
      `checkpoint ${dir} has ${specs.length} weights, the model ${model.weights.length}`,
    );
  }
  try {
    model.setWeights(specs.map((s) => weights[s.name] ?? tf.scalar(0)));
  } finally {
    tf.dispose(Object.values(weights));
  }
  const meta = JSON.parse(await readFile(path.join(dir, OPTIMIZER_JSON), 'utf8')) as {
    className: string;
    specs: tf.io.WeightsManifestEntry[];
  };
  if (meta.className !== optimizer.getClassName()) {
    throw new TrainingError(
      'INVALID_ARGUMENT',
      `checkpoint ${dir} was trained with ${meta.className}, not ${optimizer.getClassName()}`,
    );
  }
  const bytes = await readFile(path.join(dir, OPTIMIZER_BIN));
  const decoded = tf.io.decodeWeights(new Uint8Array(bytes).buffer, meta.specs);
  try {
    const own = meta.specs.filter((s) => !s.name.startsWith(EXTRA_PREFIX));
    await optimizer.setWeights(own.map((s) => ({ name: s.name, tensor: decoded[s.name] ?? tf.scalar(0) })));
    const internals = optimizer as unknown as AdamInternals;
    for (const key of ADAM_EXTRAS) {
      const saved = decoded[`${EXTRA_PREFIX}${key}`];
      if (saved !== undefined) internals[key]?.assign(saved);
    }
  } finally {
    tf.dispose(Object.values(decoded));
  }
  const hash = await hashWeights(model);
  if (hash !== state.weightsHash) {
    throw new TrainingError(
      'INTEGRITY',
      `checkpoint ${dir} weights do not match the hash in its ${STATE_JSON}`,
      {
        hint: 'The checkpoint is damaged; resume from an earlier epoch.',
      },
    );
  }
  return state;
}
