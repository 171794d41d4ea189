import * as tf from '@tensorflow/tfjs';

import { readArtifacts } from '../artifacts/artifact.store';
import { ModelSpecError } from '../ml.errors';
import { checkModelFits, freezeLayers, prepareTopology, type ModelShape } from './model.factory';

/**
 * Loads a model from `model.json` + `weights.bin` in `dir`. The topology passes the same allowlist as a
 * declared one before TensorFlow.js deserializes it: a pre-trained upload is as untrusted as a spec.
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const artifacts = await readArtifacts(dir);
  const topology = prepareTopology(artifacts.modelTopology, 0);
  try {
    return await tf.loadLayersModel({
      load: () => Promise.resolve({ ...artifacts, modelTopology: topology }),
    });
  } catch (cause) {
    throw new ModelSpecError(`the model in ${dir} could not be loaded`, { cause });
  }
}

/**
 * Loads a pre-trained model for fine-tuning: checks it fits the data (input shape, outputs, parameter
 * limit) and freezes the layers the spec names.
 */
export async function loadPretrainedModel(
  dir: string,
  freeze: readonly string[],
  shape: Omit<ModelShape, 'seed'>,
): Promise<tf.LayersModel> {
  const model = await loadModel(dir);
  checkModelFits(model, shape);
  try {
    freezeLayers(model, freeze);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
