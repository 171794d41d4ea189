import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ModelSpec } from '@decenter/core';
import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../backend/backend.init';
import { createModel } from '../model/model.factory';
import { loadModel, loadPretrainedModel } from '../model/model.loader';
import { arrayDataSource } from '../train/data.source';
import { train } from '../train/training.loop';
import {
  checkWeights,
  checkWeightShapes,
  hashArtifacts,
  hashWeights,
  MODEL_JSON,
  readArtifacts,
  saveModel,
  WEIGHTS_BIN,
} from './artifact.store';

const mlp: ModelSpec = {
  kind: 'template',
  template: 'mlp',
  options: { hiddenUnits: [6], activation: 'tanh', dropout: 0 },
};
const shape = { inputShape: [3], task: 'classification' as const, numClasses: 2 };

let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'decenter-ml-artifacts-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('model artifacts', () => {
  it('round-trips model.json + weights.bin and predicts the same', async () => {
    const model = await createModel(mlp, { ...shape, seed: 1 });
    const target = path.join(dir, 'roundtrip');
    await saveModel(model, target);
    const loaded = await loadModel(target);
    const input = tf.tensor2d([[0.1, -0.4, 2]]);
    const [a, b] = [model.predict(input) as tf.Tensor, loaded.predict(input) as tf.Tensor];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(await hashWeights(loaded)).toBe(await hashWeights(model));
    expect(checkWeightShapes(loaded, await readArtifacts(target))).toEqual([]);
    tf.dispose([input, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('hashes the same model to the same digest, whatever the key order of model.json', async () => {
    const first = await createModel(mlp, { ...shape, seed: 2 });
    const second = await createModel(mlp, { ...shape, seed: 2 });
    const other = await createModel(mlp, { ...shape, seed: 3 });
    const hashOne = await saveModel(first, path.join(dir, 'h1'));
    expect(await saveModel(second, path.join(dir, 'h2'))).toBe(hashOne);
    expect(await saveModel(other, path.join(dir, 'h3'))).not.toBe(hashOne);
    // Re-serialize model.json with its keys reversed and indentation: the canonical hash stays the same.
    const file = path.join(dir, 'h1', MODEL_JSON);
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const reversed = Object.fromEntries(Object.entries(parsed).reverse());
    await writeFile(file, JSON.stringify(reversed, null, 2));
    expect(await hashArtifacts(path.join(dir, 'h1'))).toBe(hashOne);
    for (const m of [first, second, other]) m.dispose();
  });

  it('hashes a declared topology without layer names the same, whatever the process built before', async () => {
    const spec: ModelSpec = {
      kind: 'topology',
      topology: {
        class_name: 'Sequential',
        config: {
          layers: [
            { class_name: 'Dense', config: { units: 4, batch_input_shape: [null, 3] } },
            { class_name: 'Dense', config: { units: 2, activation: 'softmax' } },
          ],
        },
      },
    };
    const first = await createModel(spec, { ...shape, seed: 6 });
    const between = await createModel(spec, { ...shape, seed: 7 });
    const second = await createModel(spec, { ...shape, seed: 6 });
    expect(await saveModel(second, path.join(dir, 'unnamed-2'))).toBe(
      await saveModel(first, path.join(dir, 'unnamed-1')),
    );
    expect(second.layers.map((l) => l.name)).toEqual(['layer_0', 'layer_1']);
    for (const m of [first, between, second]) m.dispose();
  });

  it('finds NaN weights and undeclared or missing bytes', () => {
    const specs: tf.io.WeightsManifestEntry[] = [{ name: 'k', shape: [2], dtype: 'float32' }];
    expect(checkWeights({ weightSpecs: specs, weightData: Float32Array.of(1, 2).buffer })).toEqual([]);
    expect(checkWeights({ weightSpecs: specs, weightData: Float32Array.of(1, NaN).buffer })).toEqual([
      'k: element 1 is NaN',
    ]);
    expect(checkWeights({ weightSpecs: specs, weightData: Float32Array.of(1, Infinity).buffer })[0]).toMatch(
      /Infinity/,
    );
    expect(checkWeights({ weightSpecs: specs, weightData: Float32Array.of(1).buffer })[0]).toMatch(/remain/);
    expect(checkWeights({ weightSpecs: specs, weightData: Float32Array.of(1, 2, 3).buffer })[0]).toMatch(
      /not declared/,
    );
  });

  it('refuses damaged artifacts and disallowed layers when loading', async () => {
    const model = await createModel(mlp, { ...shape, seed: 4 });
    const target = path.join(dir, 'damaged');
    await saveModel(model, target);
    const weights = await readFile(path.join(target, WEIGHTS_BIN));
    await writeFile(path.join(target, WEIGHTS_BIN), weights.subarray(0, weights.length - 4));
    await expect(loadModel(target)).rejects.toThrow(/damaged/);

    const evil = path.join(dir, 'evil');
    await saveModel(model, evil);
    const json = JSON.parse(await readFile(path.join(evil, MODEL_JSON), 'utf8')) as {
      modelTopology: { config: { layers: { class_name: string }[] } };
    };
    const first = json.modelTopology.config.layers[0];
    if (first === undefined) throw new Error('expected layers');
    first.class_name = 'Lambda';
    await writeFile(path.join(evil, MODEL_JSON), JSON.stringify(json));
    await expect(loadModel(evil)).rejects.toThrow(/"Lambda": Lambda layers carry code/);
    await expect(loadModel(path.join(dir, 'missing'))).rejects.toThrow(/no model artifacts/);
    model.dispose();
  });

  it('fine-tunes a pre-trained model with frozen layers left unchanged', async () => {
    const pretrained = await createModel(mlp, { ...shape, seed: 5 });
    const source = path.join(dir, 'pretrained');
    await saveModel(pretrained, source);
    pretrained.dispose();
    const model = await loadPretrainedModel(source, ['hidden_1'], shape);
    const before = model
      .getLayer('hidden_1')
      .getWeights()
      .map((w) => Array.from(w.dataSync()));
    const outputBefore = Array.from(model.getLayer('output').getWeights()[0]?.dataSync() ?? []);
    const data = arrayDataSource({
      features: Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0),
      targets: Int32Array.of(0, 1, 0, 1),
      inputShape: [3],
      task: 'classification',
      numClasses: 2,
      batchSize: 2,
      shuffleSeed: 1,
    });
    await train({
      model,
      task: 'classification',
      data,
      hyperparameters: { optimizer: 'sgd', learningRate: 0.5, batchSize: 2, epochs: 3 },
      seed: 1,
    });
    expect(
      model
        .getLayer('hidden_1')
        .getWeights()
        .map((w) => Array.from(w.dataSync())),
    ).toEqual(before);
    expect(Array.from(model.getLayer('output').getWeights()[0]?.dataSync() ?? [])).not.toEqual(outputBefore);
    await expect(loadPretrainedModel(source, ['missing_layer'], shape)).rejects.toThrow(/missing_layer/);
    await expect(loadPretrainedModel(source, [], { ...shape, numClasses: 5 })).rejects.toThrow(/needs \[5\]/);
    model.dispose();
  });
});
