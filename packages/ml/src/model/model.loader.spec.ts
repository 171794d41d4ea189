import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { MODEL_JSON, saveModel } from '../artifacts/artifact.store';
import { initBackend } from '../backend/backend.init';
import { arrayDataSource } from '../train/data.source';
import { train } from '../train/training.loop';
import { loadModel, loadPretrainedModel, readPretrainedArtifacts } from './model.loader';

const shape = { inputShape: [3], task: 'classification' as const, numClasses: 2 };

let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'decenter-ml-loader-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A model as a user uploads it: saved by TensorFlow.js itself, weights in two shard files of its naming. */
async function uploadLike(target: string): Promise<tf.Sequential> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 4, activation: 'relu', name: 'base' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'head' }),
    ],
  });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } });
    }),
  );
  if (saved?.weightSpecs === undefined || saved.weightData === undefined) throw new Error('not saved');
  const bytes = Buffer.from(tf.io.CompositeArrayBuffer.join(saved.weightData));
  const split = 4 * (3 * 4 + 4); // the first layer's kernel and bias
  await mkdir(target, { recursive: true });
  await writeFile(path.join(target, 'group1-shard1of2.bin'), bytes.subarray(0, split));
  await writeFile(path.join(target, 'group1-shard2of2.bin'), bytes.subarray(split));
  const json = {
    format: 'layers-model',
    modelTopology: saved.modelTopology,
    weightsManifest: [
      { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: saved.weightSpecs },
    ],
  };
  await writeFile(path.join(target, MODEL_JSON), JSON.stringify(json));
  return model;
}

const values = (model: tf.LayersModel, layer: string): number[][] =>
  model
    .getLayer(layer)
    .getWeights()
    .map((w) => Array.from(w.dataSync()));

describe('loadPretrainedModel', () => {
  it('loads an upload with sharded weight files, freezes the named layers, and the freeze survives saving', async () => {
    const source = path.join(dir, 'upload');
    const original = await uploadLike(source);
    const model = await loadPretrainedModel(source, ['base'], shape);
    expect(values(model, 'base')).toEqual(values(original, 'base'));
    expect(values(model, 'head')).toEqual(values(original, 'head'));
    original.dispose();
    const before = values(model, 'base');
    const head = values(model, 'head');
    await train({
      model,
      task: 'classification',
      data: arrayDataSource({
        features: Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0),
        targets: Int32Array.of(0, 1, 0, 1),
        inputShape: [3],
        task: 'classification',
        numClasses: 2,
        batchSize: 2,
        shuffleSeed: 1,
      }),
      hyperparameters: { optimizer: 'sgd', learningRate: 0.5, batchSize: 2, epochs: 2 },
      seed: 1,
    });
    expect(values(model, 'base')).toEqual(before);
    expect(values(model, 'head')).not.toEqual(head);
    // The candidate's own model.json records the freeze, so a replay from its checkpoints trains the same
    // weights as the trainer did.
    const saved = path.join(dir, 'candidate');
    await saveModel(model, saved);
    model.dispose();
    const text = await readFile(path.join(saved, MODEL_JSON), 'utf8');
    const layers = (
      JSON.parse(text) as {
        modelTopology: { config: { layers: { config: { name: string; trainable: boolean } }[] } };
      }
    ).modelTopology.config.layers;
    expect(layers.map((layer) => [layer.config.name, layer.config.trainable])).toEqual([
      ['base', false],
      ['head', true],
    ]);
    const reloaded = await loadModel(saved);
    expect(reloaded.getLayer('base').trainable).toBe(false);
    expect(reloaded.getLayer('head').trainable).toBe(true);
    reloaded.dispose();
  });

  it('refuses weight files outside the model folder, missing ones and short weights', async () => {
    const source = path.join(dir, 'bad');
    (await uploadLike(source)).dispose();
    const json = JSON.parse(await readFile(path.join(source, MODEL_JSON), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const group = json.weightsManifest[0];
    if (group === undefined) throw new Error('no group');
    const write = (paths: string[]) =>
      writeFile(
        path.join(source, MODEL_JSON),
        JSON.stringify({ ...json, weightsManifest: [{ ...group, paths }] }),
      );
    await write(['../secret.bin']);
    await expect(readPretrainedArtifacts(source)).rejects.toThrow(/names weight file "..\/secret.bin"/);
    await write(['group1-shard1of2.bin', 'absent.bin']);
    await expect(readPretrainedArtifacts(source)).rejects.toThrow(/"absent.bin" is missing/);
    await write(['group1-shard1of2.bin']);
    await expect(readPretrainedArtifacts(source)).rejects.toThrow(/weights are unusable/);
  });
});
