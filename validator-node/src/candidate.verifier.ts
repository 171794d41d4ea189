import path from 'node:path';

import { canonicalJson, type Hyperparameters, type JobSpec } from '@decenter/core';
import { outputSize, type EncodingSpec } from '@decenter/data';
import {
  checkWeightShapes,
  createModel,
  epochDir,
  hashArtifacts,
  hashWeights,
  loadModel,
  loadPretrainedModel,
  prepareTopology,
  readArtifacts,
  readCheckpointState,
  replayEpoch,
  train,
  type DataSource,
} from '@decenter/ml';
import type * as tf from '@tensorflow/tfjs';

import { CandidateRejectedError, describeError, type VerificationCheck } from './validator.errors';

/** What the ledger says about the candidate and its trial. */
export interface CandidateCommitment {
  trialId: string;
  modelHash: string;
  checkpointHashes: string[];
  backend: string;
  seed: number;
  hyperparameters: Hyperparameters;
}

export interface ReplayRequest {
  /** 1-based epoch to retrain, from the checkpoint of the epoch before it (or from scratch for epoch 1). */
  epoch: number;
  checkpointsDir: string;
  /** The training data, batched and shuffled as the trainer did. */
  data: DataSource;
  /** The backend this validator trains with: a replay is bit-exact only on the candidate's own. */
  backend: string;
}

export interface VerifyOptions {
  candidate: CandidateCommitment;
  spec: JobSpec;
  encoding: EncodingSpec;
  /** Folder with the candidate's model.json and weights.bin. */
  modelDir: string;
  /** The job's verified pre-trained model (model.json + weight files), when the spec fine-tunes one. */
  pretrainedDir?: string;
  replay?: ReplayRequest;
}

export type ReplayOutcome =
  { status: 'matched'; epoch: number } | { status: 'skipped'; reason: string } | { status: 'not-selected' };

export type Verification =
  | { verified: true; checks: VerificationCheck[]; replay: ReplayOutcome }
  | { verified: false; check: VerificationCheck; reason: string; checks: VerificationCheck[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A topology reduced to what defines the architecture: layer classes and their configs, without names
 * (a hand-written topology gets generated ones) and initializers (starting weights are what the replay
 * checks), nor the writer's tfjs version, nor the seed a random layer (Dropout) last drew from.
 */
export function architectureOf(topology: unknown): unknown {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (!isRecord(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // `seed` of a random layer (Dropout, noise) is the training loop's per-step RNG state, saved with the
      // model as it last was: not architecture (replays re-seed every step from the trial seed anyway).
      if (
        key === 'name' ||
        key === 'seed' ||
        key.endsWith('_initializer') ||
        key === 'keras_version' ||
        key === 'backend'
      )
        continue;
      out[key] = strip(item);
    }
    return out;
  };
  const root = isRecord(topology) && isRecord(topology.model_config) ? topology.model_config : topology;
  return strip(root);
}

function reject(check: VerificationCheck, reason: string): never {
  throw new CandidateRejectedError(check, reason);
}

/**
 * The model a candidate must be a trained copy of: the spec's, built with the trial's seed, or, for a
 * fine-tuning job, the job's pre-trained model with the spec's layers frozen (the freeze is part of the
 * topology, so a candidate that trained a frozen layer fails the topology check, and a replay of epoch 1
 * starts from the pre-trained weights as the trainer did).
 */
async function expectedModel(options: VerifyOptions): Promise<tf.LayersModel> {
  const { spec, encoding, candidate } = options;
  const shape = {
    inputShape: encoding.inputShape,
    task: spec.task,
    ...(spec.task === 'classification' ? { numClasses: outputSize(encoding) } : { outputUnits: 1 }),
  };
  const pretrained = spec.model.pretrained;
  if (pretrained === undefined) return createModel(spec.model, { ...shape, seed: candidate.seed });
  if (options.pretrainedDir === undefined) {
    return reject('topology', 'the job fine-tunes a pre-trained model, but the validator could not read it');
  }
  try {
    return await loadPretrainedModel(options.pretrainedDir, pretrained.freeze, shape);
  } catch (error) {
    return reject('topology', `the job's pre-trained model cannot be loaded: ${describeError(error)}`);
  }
}

async function runReplay(options: VerifyOptions, replay: ReplayRequest): Promise<ReplayOutcome> {
  const { candidate, spec } = options;
  if (replay.backend !== candidate.backend) {
    return {
      status: 'skipped',
      reason: `the candidate was trained on ${candidate.backend} and this validator runs ${replay.backend}; a replay is exact only on the same backend`,
    };
  }
  const epochs = candidate.checkpointHashes.length;
  const epoch = replay.epoch;
  if (epoch < 1 || epoch > epochs)
    reject('replay', `no committed checkpoint of epoch ${epoch} (${epochs} committed)`);
  const expected = candidate.checkpointHashes[epoch - 1] as string;
  let weightsHash: string;
  if (epoch === 1) {
    const model = await expectedModel(options);
    try {
      const result = await train({
        model,
        task: spec.task,
        data: replay.data,
        hyperparameters: candidate.hyperparameters,
        seed: candidate.seed,
        epochs: 1,
      });
      weightsHash = result.weightsHash;
    } finally {
      model.dispose();
    }
  } else {
    const from = epochDir(replay.checkpointsDir, epoch - 1);
    let state;
    try {
      state = await readCheckpointState(from);
    } catch (error) {
      return reject('replay', `the checkpoint of epoch ${epoch - 1} is missing: ${describeError(error)}`);
    }
    if (state.weightsHash !== candidate.checkpointHashes[epoch - 2]) {
      reject('replay', `the stored checkpoint of epoch ${epoch - 1} is not the one committed on the ledger`);
    }
    if (
      state.seed !== candidate.seed ||
      canonicalJson(state.hyperparameters) !== canonicalJson(candidate.hyperparameters)
    ) {
      reject(
        'replay',
        `the checkpoint of epoch ${epoch - 1} was trained with another seed or hyperparameters than the trial's`,
      );
    }
    try {
      weightsHash = (await replayEpoch({ checkpoint: from, task: spec.task, data: replay.data })).weightsHash;
    } catch (error) {
      return reject('replay', `retraining epoch ${epoch} failed: ${describeError(error)}`);
    }
  }
  if (weightsHash !== expected) {
    reject(
      'replay',
      `retraining epoch ${epoch} with seed ${candidate.seed} on ${replay.backend} gives weights ${weightsHash.slice(0, 12)}…, but the committed checkpoint is ${expected.slice(0, 12)}…`,
    );
  }
  return { status: 'matched', epoch };
}

/** A fine-tuned candidate's frozen layers must still hold the pre-trained weights, bit for bit. */
async function checkFrozenLayers(options: VerifyOptions, model: tf.LayersModel): Promise<void> {
  const freeze = options.spec.model.pretrained?.freeze ?? [];
  if (freeze.length === 0) return;
  const pretrained = await expectedModel(options);
  try {
    for (const name of freeze) {
      const want = pretrained.getLayer(name).getWeights();
      const got = model.getLayer(name).getWeights();
      const same =
        want.length === got.length &&
        want.every((weight, i) => {
          const other = got[i];
          return (
            other !== undefined &&
            Buffer.from(weight.dataSync().buffer).equals(Buffer.from(other.dataSync().buffer))
          );
        });
      if (!same)
        reject('weights', `the frozen layer "${name}" does not hold the pre-trained model's weights`);
    }
  } finally {
    pretrained.dispose();
  }
}

async function verifyOrThrow(options: VerifyOptions, checks: VerificationCheck[]): Promise<ReplayOutcome> {
  const { candidate, modelDir } = options;
  let hash: string;
  try {
    hash = await hashArtifacts(modelDir);
  } catch (error) {
    return reject('artifacts', `the model artifacts cannot be read: ${describeError(error)}`);
  }
  if (hash !== candidate.modelHash) {
    reject(
      'artifact-hash',
      `the artifact hashes to ${hash}, but the committed model hash is ${candidate.modelHash}`,
    );
  }
  checks.push('artifact-hash');

  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await readArtifacts(modelDir);
  } catch (error) {
    return reject('weights', describeError(error));
  }
  try {
    prepareTopology(artifacts.modelTopology, 0);
  } catch (error) {
    return reject('layers', describeError(error));
  }
  checks.push('layers');

  const expected = await expectedModel(options);
  try {
    const want = canonicalJson(architectureOf(expected.toJSON(null, false)));
    const got = canonicalJson(architectureOf(artifacts.modelTopology));
    if (want !== got) {
      reject(
        'topology',
        options.spec.model.pretrained === undefined
          ? "the model's topology is not the one the job spec declares"
          : "the model's topology is not the job's pre-trained model with the spec's frozen layers",
      );
    }
    checks.push('topology');
    const problems = checkWeightShapes(expected, artifacts);
    if (problems.length > 0)
      reject('weights', `weights do not have the declared shapes: ${problems.join('; ')}`);
  } finally {
    expected.dispose();
  }
  const model = await loadModel(modelDir);
  try {
    const last = candidate.checkpointHashes.at(-1);
    if (last !== undefined && (await hashWeights(model)) !== last) {
      reject('weights', 'the model weights are not those of the last committed checkpoint');
    }
    await checkFrozenLayers(options, model);
  } finally {
    model.dispose();
  }
  checks.push('weights');

  if (options.replay === undefined) return { status: 'not-selected' };
  const outcome = await runReplay(options, options.replay);
  if (outcome.status === 'matched') checks.push('replay');
  return outcome;
}

/**
 * Runs every check on one candidate, cheapest first: artifact hash against the commitment, allowlisted
 * layers, the spec's architecture, weight shapes and finiteness, the tie to the committed checkpoints,
 * and (when asked) a one-epoch replay. The first failure rejects the candidate with its reason.
 */
export async function verifyCandidate(options: VerifyOptions): Promise<Verification> {
  const checks: VerificationCheck[] = [];
  try {
    const replay = await verifyOrThrow(options, checks);
    return { verified: true, checks, replay };
  } catch (error) {
    if (error instanceof CandidateRejectedError) {
      return { verified: false, check: error.check, reason: error.message, checks };
    }
    throw error;
  }
}

export function modelDirOf(candidateDir: string): string {
  return path.join(candidateDir, 'model');
}

export function checkpointsDirOf(candidateDir: string): string {
  return path.join(candidateDir, 'checkpoints');
}
