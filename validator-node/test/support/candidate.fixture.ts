import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import {
  canonicalJson,
  parseJobSpec,
  type Hyperparameters,
  type JobSpec,
  type JobSpecInput,
} from '@decenter/core';
import { fitCsvEncoding, outputSize, profileCsv, readCsv, type EncodingSpec } from '@decenter/data';
import {
  createModel,
  hashArtifacts,
  loadPretrainedModel,
  saveModel,
  streamingSource,
  train,
  MODEL_JSON,
  WEIGHTS_BIN,
} from '@decenter/ml';
import { irisSplits, type IrisSplits } from '@decenter/system-tests/support/iris-job.fixture';

export const IRIS_SPEC: JobSpecInput = {
  name: 'iris-mlp',
  task: 'classification',
  model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [8] } },
  data: { format: 'csv', label: 'species' },
  search: { learningRate: [0.05], batchSize: [16], epochs: [3], optimizer: ['adam'], seeds: [1] },
  objective: { metric: 'accuracy' },
  schedule: { trainingDeadline: '2099-01-01T00:00:00Z', validationDeadline: '2099-01-02T00:00:00Z' },
  validation: { replayShare: 1 },
};

/** The Iris splits written as train.csv, validation.csv and holdout.csv in `dir`; returns their paths. */
export async function writeIrisFiles(dir: string, stride?: number): Promise<IrisSplits> {
  const splits = await irisSplits(stride);
  await mkdir(dir, { recursive: true });
  const files = {
    train: path.join(dir, 'train.csv'),
    validation: path.join(dir, 'validation.csv'),
    holdout: path.join(dir, 'holdout.csv'),
  };
  await writeFile(files.train, splits.train);
  await writeFile(files.validation, splits.validation);
  await writeFile(files.holdout, splits.holdout);
  return files;
}

export async function fitEncoding(spec: JobSpec, trainFile: string): Promise<EncodingSpec> {
  const profile = await profileCsv(createReadStream(trainFile), {
    file: 'train',
    data: spec.data,
    task: spec.task,
  });
  return fitCsvEncoding(readCsv(createReadStream(trainFile), { file: 'train' }), {
    profile,
    data: spec.data,
    task: spec.task,
  });
}

export interface TrainedCandidate {
  /** Folder laid out as the execution node uploads it: model/ and checkpoints/. */
  dir: string;
  modelHash: string;
  checkpointHashes: string[];
  encoding: EncodingSpec;
  metrics: Record<string, number>;
}

export interface TrainCandidateOptions {
  dir: string;
  spec: JobSpecInput;
  /** The spec the model is built from, when it differs from the job's (a cheating trainer). */
  modelSpec?: JobSpecInput['model'];
  files: { train: string; validation: string };
  seed: number;
  hyperparameters: Hyperparameters;
  /** Shuffle the data with this seed instead of the trial's: its epochs cannot be replayed. */
  dataSeed?: number;
  /** Fine-tune this pre-trained model (model.json + weights), freezing these layers, as the trainer does. */
  pretrained?: { dir: string; freeze: string[] };
}

/** Trains a candidate with @decenter/ml the way the execution node's trainer does, without its sandbox. */
export async function trainCandidate(options: TrainCandidateOptions): Promise<TrainedCandidate> {
  const spec = parseJobSpec(options.spec);
  const encoding = await fitEncoding(spec, options.files.train);
  const modelSpec =
    options.modelSpec === undefined
      ? spec.model
      : parseJobSpec({ ...options.spec, model: options.modelSpec }).model;
  const shape = { inputShape: encoding.inputShape, task: spec.task, numClasses: outputSize(encoding) };
  const model =
    options.pretrained === undefined
      ? await createModel(modelSpec, { ...shape, seed: options.seed })
      : await loadPretrainedModel(options.pretrained.dir, options.pretrained.freeze, shape);
  const checkpointDir = path.join(options.dir, 'checkpoints');
  const modelDir = path.join(options.dir, 'model');
  await mkdir(checkpointDir, { recursive: true });
  await writeFile(path.join(checkpointDir, 'encoding.json'), canonicalJson(encoding));
  const result = await train({
    model,
    task: spec.task,
    data: streamingSource({
      files: [options.files.train],
      data: spec.data,
      encoding,
      batchSize: options.hyperparameters.batchSize,
      shuffleSeed: options.dataSeed ?? options.seed,
    }),
    validation: streamingSource({
      files: [options.files.validation],
      data: spec.data,
      encoding,
      batchSize: 256,
    }),
    hyperparameters: options.hyperparameters,
    seed: options.seed,
    objective: spec.objective.metric,
    checkpointDir,
  });
  const modelHash = await saveModel(model, modelDir);
  await writeFile(path.join(modelDir, 'encoding.json'), canonicalJson(encoding));
  model.dispose();
  const last = result.history.at(-1);
  return {
    dir: options.dir,
    modelHash,
    checkpointHashes: result.history.map((epoch) => epoch.weightsHash),
    encoding,
    metrics: { accuracy: last?.metric ?? 0, loss: last?.loss ?? 0 },
  };
}

/** Rewrites model.json with `edit` and returns the new artifact hash (what a cheating trainer would commit). */
export async function editModelJson(
  modelDir: string,
  edit: (json: {
    modelTopology: Record<string, unknown>;
    weightsManifest: { weights: { name: string; shape: number[] }[] }[];
  }) => void,
): Promise<string> {
  const file = path.join(modelDir, MODEL_JSON);
  const json = JSON.parse(await readFile(file, 'utf8')) as Parameters<typeof edit>[0];
  edit(json);
  await writeFile(file, canonicalJson(json));
  return hashArtifacts(modelDir);
}

/** Writes NaN over the first weight and returns the new artifact hash. */
export async function poisonWeights(modelDir: string): Promise<string> {
  const file = path.join(modelDir, WEIGHTS_BIN);
  const bytes = await readFile(file);
  bytes.writeFloatLE(Number.NaN, 0);
  await writeFile(file, bytes);
  return hashArtifacts(modelDir);
}

/** The Sequential layers of a model.json topology. */
export function layersOf(
  topology: Record<string, unknown>,
): { class_name: string; config: Record<string, unknown> }[] {
  const config = topology['config'] as { layers: { class_name: string; config: Record<string, unknown> }[] };
  return config.layers;
}
