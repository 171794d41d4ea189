import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { canonicalJson } from '@decenter/core';
import * as tf from '@tensorflow/tfjs';

import { ArtifactError } from '../ml.errors';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** The parts of a `model.json` this package writes; nothing version- or machine-specific, so hashes are stable. */
interface ModelJson {
  format: 'layers-model';
  modelTopology: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

async function writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, data);
  await rename(temp, file);
}

function joinWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return tf.io.CompositeArrayBuffer.join(data);
}

/**
 * A TensorFlow.js IOHandler over a plain directory (`model.json` + one `weights.bin`), so models save
 * and load without tfjs-node. `model.json` is written as canonical JSON.
 */
export function directoryHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (artifacts.modelTopology === undefined || artifacts.modelTopology instanceof ArrayBuffer) {
        throw new ArtifactError('INVALID_ARGUMENT', 'only layers models with a JSON topology can be saved');
      }
      const weights = new Uint8Array(joinWeightData(artifacts.weightData));
      const modelJson: ModelJson = {
        format: 'layers-model',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      await mkdir(dir, { recursive: true });
      await writeAtomically(path.join(dir, WEIGHTS_BIN), weights);
      await writeAtomically(path.join(dir, MODEL_JSON), canonicalJson(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(0),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },
    load: async (): Promise<tf.io.ModelArtifacts> => readArtifacts(dir),
  };
}

/** Reads and structurally checks `model.json` + `weights.bin` from a directory. */
export async function readArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  let text: string;
  let weights: Buffer;
  try {
    text = await readFile(path.join(dir, MODEL_JSON), 'utf8');
    weights = await readFile(path.join(dir, WEIGHTS_BIN));
  } catch (cause) {
    throw new ArtifactError('NOT_FOUND', `no model artifacts (${MODEL_JSON} + ${WEIGHTS_BIN}) in ${dir}`, {
      cause,
      hint: 'Point to the directory the model was saved to.',
    });
  }
  const json = parseModelJson(text, dir);
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  const weightData = new Uint8Array(weights).buffer;
  const artifacts: tf.io.ModelArtifacts = { modelTopology: json.modelTopology, weightSpecs, weightData };
  const problems = checkWeights(artifacts);
  if (problems.length > 0) {
    throw new ArtifactError('INTEGRITY', `model artifacts in ${dir} are damaged: ${problems.join('; ')}`, {
      hint: 'Fetch the artifacts again; their hash will not match the committed one either.',
    });
  }
  return artifacts;
}

function parseModelJson(text: string, dir: string): ModelJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ArtifactError('INTEGRITY', `${MODEL_JSON} in ${dir} is not valid JSON`, { cause });
  }
  const record = value as Partial<ModelJson> | null;
  if (
    record === null ||
    typeof record !== 'object' ||
    typeof record.modelTopology !== 'object' ||
    !Array.isArray(record.weightsManifest)
  ) {
    throw new ArtifactError('INTEGRITY', `${MODEL_JSON} in ${dir} has no modelTopology or weightsManifest`, {
      hint: 'Only TensorFlow.js layers models (model.json + weights) are accepted.',
    });
  }
  for (const group of record.weightsManifest) {
    const paths = (group as { paths?: unknown }).paths;
    if (!Array.isArray(paths) || paths.length !== 1 || paths[0] !== WEIGHTS_BIN) {
      throw new ArtifactError(
        'INTEGRITY',
        `${MODEL_JSON} in ${dir} must reference exactly one ${WEIGHTS_BIN}`,
      );
    }
  }
  return record as ModelJson;
}

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * Validator sanity checks on artifacts: every declared weight has a known dtype and a whole shape, the
 * declared sizes add up to the weight bytes exactly, and no float is NaN or infinite. Returns the problems.
 */
export function checkWeights(artifacts: tf.io.ModelArtifacts): string[] {
  const problems: string[] = [];
  const data = new Uint8Array(joinWeightData(artifacts.weightData));
  let offset = 0;
  for (const spec of artifacts.weightSpecs ?? []) {
    const bytes = BYTES_PER_ELEMENT[spec.dtype];
    if (bytes === undefined || spec.quantization !== undefined) {
      problems.push(
        `${spec.name}: unsupported dtype ${spec.dtype}${spec.quantization ? ' (quantized)' : ''}`,
      );
      return problems;
    }
    if (!spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      problems.push(`${spec.name}: invalid shape [${spec.shape.join(', ')}]`);
      return problems;
    }
    const length = spec.shape.reduce((a, b) => a * b, 1) * bytes;
    if (offset + length > data.byteLength) {
      problems.push(`${spec.name}: declared ${length} bytes but only ${data.byteLength - offset} remain`);
      return problems;
    }
    if (spec.dtype === 'float32') {
      const values = new Float32Array(data.slice(offset, offset + length).buffer);
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) problems.push(`${spec.name}: element ${bad} is ${String(values[bad])}`);
    }
    offset += length;
  }
  if (offset !== data.byteLength)
    problems.push(`${data.byteLength - offset} bytes of weights are not declared`);
  return problems;
}

/** Checks that a model's own weights have exactly the shapes its artifacts declare (after loading). */
export function checkWeightShapes(model: tf.LayersModel, artifacts: tf.io.ModelArtifacts): string[] {
  const declared = artifacts.weightSpecs ?? [];
  const actual = model.weights;
  if (declared.length !== actual.length) {
    return [`the model has ${actual.length} weights but the artifacts declare ${declared.length}`];
  }
  const problems: string[] = [];
  actual.forEach((weight, i) => {
    const spec = declared[i];
    if (spec !== undefined && spec.shape.join('x') !== weight.shape.join('x')) {
      problems.push(
        `${spec.name}: declared [${spec.shape.join(', ')}], model has [${weight.shape.join(', ')}]`,
      );
    }
  });
  return problems;
}

/** Saves a model to `dir` as `model.json` + `weights.bin` and returns the artifacts hash. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<string> {
  await model.save(directoryHandler(dir));
  return hashArtifacts(dir);
}

/** Loads a model saved by `saveModel`. The caller checks the topology first (see `loadModel` in the factory). */
export async function loadModelUnchecked(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(directoryHandler(dir));
}

/**
 * The model hash committed on the ledger: SHA-256 over the canonical JSON of `model.json`, a zero byte,
 * and the raw `weights.bin`. Canonical JSON makes the hash independent of key order and whitespace.
 */
export async function hashArtifacts(dir: string): Promise<string> {
  const text = await readFile(path.join(dir, MODEL_JSON), 'utf8');
  const weights = await readFile(path.join(dir, WEIGHTS_BIN));
  const hash = createHash('sha256');
  hash.update(canonicalJson(JSON.parse(text)));
  hash.update(Buffer.from([0]));
  hash.update(weights);
  return hash.digest('hex');
}

/** SHA-256 over every weight's shape and float bytes, in model order (what determinism tests compare). */
export async function hashWeights(model: tf.LayersModel): Promise<string> {
  const hash = createHash('sha256');
  for (const weight of model.weights) {
    const values = await weight.read().data();
    hash.update(`${weight.shape.join('x')}:`);
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex');
}
