import type { ModelSpec } from '@decenter/core';
import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../backend/backend.init';
import { ModelSpecError } from '../ml.errors';
import { createModel, freezeLayers, templateParameters } from './model.factory';

const mlp: ModelSpec = {
  kind: 'template',
  template: 'mlp',
  options: { hiddenUnits: [16, 8], activation: 'relu', dropout: 0.1 },
};
const cnn: ModelSpec = {
  kind: 'template',
  template: 'cnn',
  options: { filters: [32, 64], kernelSize: 3, denseUnits: 128, dropout: 0.25, batchNorm: false },
};

function sequentialTopology(layers: unknown[]): ModelSpec {
  return { kind: 'topology', topology: { class_name: 'Sequential', config: { name: 'custom', layers } } };
}

const denseLayer = (name: string, units: number, extra: Record<string, unknown> = {}): unknown => ({
  class_name: 'Dense',
  config: { name, units, activation: 'relu', ...extra },
});

describe('createModel', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('builds the mlp template with a softmax output for classification', async () => {
    const model = await createModel(mlp, { inputShape: [4], task: 'classification', numClasses: 3, seed: 1 });
    expect(model.outputs[0]?.shape).toEqual([null, 3]);
    expect(model.layers.map((l) => l.name)).toEqual([
      'hidden_1',
      'dropout_1',
      'hidden_2',
      'dropout_2',
      'output',
    ]);
    expect((model.layers.at(-1)?.getConfig() as { activation: string }).activation).toBe('softmax');
    expect(model.countParams()).toBe((4 + 1) * 16 + (16 + 1) * 8 + (8 + 1) * 3);
    model.dispose();
  });

  it('builds a linear output for regression', async () => {
    const model = await createModel(mlp, { inputShape: [5], task: 'regression', outputUnits: 2, seed: 1 });
    expect((model.layers.at(-1)?.getConfig() as { activation: string }).activation).toBe('linear');
    expect(model.outputs[0]?.shape).toEqual([null, 2]);
    model.dispose();
  });

  it('builds the small CNN of the issue and predicts its parameter count before allocating', async () => {
    const shape = { inputShape: [28, 28, 1], task: 'classification' as const, numClasses: 10, seed: 3 };
    const model = await createModel(cnn, shape);
    expect(model.countParams()).toBe(
      templateParameters(cnn as Extract<ModelSpec, { kind: 'template' }>, shape),
    );
    expect(model.layers.map((l) => l.getClassName())).toEqual([
      'Conv2D',
      'MaxPooling2D',
      'Conv2D',
      'MaxPooling2D',
      'Flatten',
      'Dense',
      'Dropout',
      'Dense',
    ]);
    model.dispose();
  });

  it('gives the same initial weights for the same seed and different ones for another seed', async () => {
    const shape = { inputShape: [4], task: 'classification' as const, numClasses: 3 };
    const [a, b, c] = await Promise.all([
      createModel(mlp, { ...shape, seed: 7 }),
      createModel(mlp, { ...shape, seed: 7 }),
      createModel(mlp, { ...shape, seed: 8 }),
    ]);
    const kernel = (m: tf.LayersModel): number[] => Array.from(m.getWeights()[0]?.dataSync() ?? []);
    expect(kernel(a)).toEqual(kernel(b));
    expect(kernel(a)).not.toEqual(kernel(c));
    for (const m of [a, b, c]) m.dispose();
  });

  it('refuses an image too small for the cnn template and an mlp over the parameter limit', async () => {
    await expect(
      createModel(cnn, { inputShape: [6, 6, 1], task: 'classification', numClasses: 2, seed: 1 }),
    ).rejects.toThrow(/too small/);
    await expect(
      createModel(mlp, {
        inputShape: [100],
        task: 'classification',
        numClasses: 2,
        seed: 1,
        maxParameters: 500,
      }),
    ).rejects.toThrow(/parameters; at most 500/);
  });

  it('builds an allowlisted topology and seeds its initializers', async () => {
    const spec = sequentialTopology([
      denseLayer('a', 6, {
        batch_input_shape: [null, 4],
        kernel_initializer: { class_name: 'GlorotUniform', config: {} },
      }),
      { class_name: 'Dropout', config: { name: 'd', rate: 0.2 } },
      { class_name: 'Dense', config: { name: 'out', units: 3, activation: 'softmax' } },
    ]);
    const shape = { inputShape: [4], task: 'classification' as const, numClasses: 3, seed: 11 };
    const [one, two] = [await createModel(spec, shape), await createModel(spec, shape)];
    const all = (m: tf.LayersModel): number[][] => m.getWeights().map((w) => Array.from(w.dataSync()));
    // Both the explicit initializer of "a" and the default one of "out" must be seeded.
    expect(all(one)).toEqual(all(two));
    expect(all(one)).toHaveLength(4);
    one.dispose();
    two.dispose();
  });

  it('refuses a Lambda layer and names it', async () => {
    const spec = sequentialTopology([
      denseLayer('a', 6, { batch_input_shape: [null, 4] }),
      { class_name: 'Lambda', config: { name: 'evil', function: 'process.exit()' } },
    ]);
    const attempt = createModel(spec, { inputShape: [4], task: 'classification', numClasses: 3, seed: 1 });
    await expect(attempt).rejects.toThrow(ModelSpecError);
    await expect(attempt).rejects.toThrow(/"Lambda": Lambda layers carry code/);
  });

  it('refuses a topology whose output does not fit the task', async () => {
    const spec = sequentialTopology([denseLayer('a', 5, { batch_input_shape: [null, 4] })]);
    await expect(
      createModel(spec, { inputShape: [4], task: 'classification', numClasses: 3, seed: 1 }),
    ).rejects.toThrow(/outputs \[5\] but the classification task needs \[3\]/);
  });

  it('freezes named layers and refuses unknown names', async () => {
    const model = await createModel(mlp, { inputShape: [4], task: 'classification', numClasses: 3, seed: 1 });
    freezeLayers(model, ['hidden_1']);
    expect(model.getLayer('hidden_1').trainable).toBe(false);
    expect(model.getLayer('hidden_2').trainable).toBe(true);
    expect(() => {
      freezeLayers(model, ['nope']);
    }).toThrow(/unknown layer\(s\) "nope"/);
    model.dispose();
  });
});
