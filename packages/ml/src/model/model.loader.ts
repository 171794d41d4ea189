import { readFile } from 'node:fs/promises';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { checkWeights, MODEL_JSON, readArtifacts } from '../artifacts/artifact.store';
import { ArtifactError, ModelSpecError } from '../ml.errors';
import { checkModelFits, freezeLayers, prepareTopology, type ModelShape } from './model.factory';

/**
 * Loads a model from `model.json` + `weights.bin` in `dir`. The topology passes the same allowlist as a
 * declared one before TensorFlow.js deserializes it: a pre-trained upload is as untrusted as a spec.
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return modelOf(await readArtifacts(dir), dir);
}

async function modelOf(artifacts: tf.io.ModelArtifacts, dir: string): Promise<tf.LayersModel> {
  const topology = prepareTopology(artifacts.modelTopology, 0);
  try {
    return await tf.loadLayersModel({
      load: () => Promise.resolve({ ...artifacts, modelTopology: topology }),
    });
  } catch (cause) {
    throw new ModelSpecError(`the model in ${dir} could not be loaded`, { cause });
  }
}

/** A weight file named by a model.json: a plain file name beside it, never a path out of its folder. */
const WEIGHT_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Reads a pre-trained upload: `model.json` as TensorFlow.js writes it and the weight files its
 * weightsManifest names (any number of groups and shards, each a plain file name in `dir`), joined in
 * manifest order. The weights are checked like a candidate's (dtypes, sizes adding up, finite floats).
 */
export async function readPretrainedArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path.join(dir, MODEL_JSON), 'utf8'));
  } catch (cause) {
    throw new ArtifactError('NOT_FOUND', `no readable ${MODEL_JSON} in the pre-trained model (${dir})`, {
      cause,
      hint: 'Upload the model.json written by tf.LayersModel.save() with its weight files.',
    });
  }
  const document = (json ?? {}) as { modelTopology?: unknown; weightsManifest?: unknown };
  if (typeof document.modelTopology !== 'object' || !Array.isArray(document.weightsManifest)) {
    throw new ArtifactError(
      'INVALID_DATA',
      `the pre-trained ${MODEL_JSON} has no modelTopology or weightsManifest`,
      {
        hint: 'Only TensorFlow.js layers models (model.json + weights) are accepted.',
      },
    );
  }
  const groups = document.weightsManifest as { paths?: unknown; weights?: unknown }[];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of groups) {
    const paths = Array.isArray(group.paths) ? (group.paths as unknown[]) : [];
    if (paths.length === 0 || !Array.isArray(group.weights)) {
      throw new ArtifactError(
        'INVALID_DATA',
        `a weightsManifest group of the pre-trained ${MODEL_JSON} is malformed`,
      );
    }
    for (const file of paths) {
      if (typeof file !== 'string' || !WEIGHT_FILE.test(file)) {
        throw new ArtifactError(
          'INVALID_DATA',
          `the pre-trained ${MODEL_JSON} names weight file ${JSON.stringify(file)}`,
          {
            hint: 'Weight files are plain file names beside model.json.',
          },
        );
      }
      try {
        buffers.push(await readFile(path.join(dir, file)));
      } catch (cause) {
        throw new ArtifactError('NOT_FOUND', `the pre-trained model's weight file "${file}" is missing`, {
          cause,
        });
      }
    }
    weightSpecs.push(...(group.weights as tf.io.WeightsManifestEntry[]));
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: document.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData: new Uint8Array(Buffer.concat(buffers)).buffer,
  };
  const problems = checkWeights(artifacts);
  if (problems.length > 0) {
    throw new ArtifactError(
      'INVALID_DATA',
      `the pre-trained model's weights are unusable: ${problems.join('; ')}`,
      {
        hint: 'Save the model again with tf.LayersModel.save() and upload all of its files.',
      },
    );
  }
  return artifacts;
}

/**
 * Loads a pre-trained model for fine-tuning (model.json + the weight files it names, topology checked
 * against the layer allowlist): checks it fits the data (input shape, outputs, parameter limit) and
 * freezes the layers the spec names.
 */
export async function loadPretrainedModel(
  dir: string,
  freeze: readonly string[],
  shape: Omit<ModelShape, 'seed'>,
): Promise<tf.LayersModel> {
  const model = await modelOf(await readPretrainedArtifacts(dir), dir);
  checkModelFits(model, shape);
  try {
    freezeLayers(model, freeze);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
