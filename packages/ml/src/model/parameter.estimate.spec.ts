import type { ModelSpec } from '@decenter/core';

import { initBackend } from '../backend/backend.init';
import { createModel } from './model.factory';
import { estimateParameters } from './parameter.estimate';

const layer = (class_name: string, config: Record<string, unknown> = {}): Record<string, unknown> => ({
  class_name,
  config,
});

const sequential = (layers: Record<string, unknown>[]): Record<string, unknown> => ({
  class_name: 'Sequential',
  config: { name: 'm', layers },
});

const CASES: { name: string; inputShape: number[]; layers: Record<string, unknown>[] }[] = [
  {
    name: 'dense stack without bias',
    inputShape: [7],
    layers: [layer('Dense', { units: 5, use_bias: false }), layer('Dense', { units: 3 })],
  },
  {
    name: 'conv2d valid/same/strided, pooling, padding, batchnorm',
    inputShape: [17, 15, 3],
    layers: [
      layer('ZeroPadding2D', {
        padding: [
          [1, 2],
          [0, 3],
        ],
      }),
      layer('Conv2D', { filters: 4, kernel_size: [3, 2], strides: 2, padding: 'valid' }),
      layer('BatchNormalization'),
      layer('MaxPooling2D', { pool_size: 2, padding: 'same' }),
      layer('Conv2D', { filters: 6, kernel_size: 3, padding: 'same', dilation_rate: 1 }),
      layer('AveragePooling2D', { pool_size: [2, 2], strides: 1 }),
      layer('Flatten'),
      layer('Dense', { units: 3 }),
    ],
  },
  {
    name: 'separable and depthwise convolutions, global pooling',
    inputShape: [12, 12, 4],
    layers: [
      layer('SeparableConv2D', { filters: 8, kernel_size: 3, depth_multiplier: 2 }),
      layer('DepthwiseConv2D', { kernel_size: 3, depth_multiplier: 3 }),
      layer('GlobalAveragePooling2D'),
      layer('Dense', { units: 2 }),
    ],
  },
  {
    name: 'conv1d, pooling, layer norm, reshape',
    inputShape: [20, 3],
    layers: [
      layer('Conv1D', { filters: 5, kernel_size: 4, strides: 2 }),
      layer('MaxPooling1D', { pool_size: 3 }),
      layer('LayerNormalization'),
      layer('Reshape', { target_shape: [15] }),
      layer('Dense', { units: 2 }),
    ],
  },
  {
    name: 'embedding',
    inputShape: [6],
    layers: [
      layer('Embedding', { input_dim: 50, output_dim: 4 }),
      layer('Flatten'),
      layer('Dense', { units: 2 }),
    ],
  },
];

describe('estimateParameters', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it.each(CASES)('agrees with the built model: $name', async ({ inputShape, layers }) => {
    const [first, ...rest] = layers;
    const topology = sequential([
      { ...first, config: { ...(first?.config as object), batch_input_shape: [null, ...inputShape] } },
      ...rest,
    ]);
    const outputs = (layers.at(-1)?.config as { units: number }).units;
    const spec: ModelSpec = { kind: 'topology', topology };
    const model = await createModel(spec, {
      inputShape,
      task: 'classification',
      numClasses: outputs,
      seed: 1,
    });
    expect(estimateParameters(topology, inputShape)).toBe(model.countParams());
    model.dispose();
  });

  it('refuses an oversized declared model before allocating its weights', async () => {
    const topology = sequential([
      layer('Dense', { units: 65_536, batch_input_shape: [null, 10_000] }),
      layer('Dense', { units: 65_536 }),
      layer('Dense', { units: 2, activation: 'softmax' }),
    ]);
    // Building this would allocate 4.9 billion floats; the estimate refuses it at once.
    await expect(
      createModel(
        { kind: 'topology', topology },
        { inputShape: [10_000], task: 'classification', numClasses: 2, seed: 1 },
      ),
    ).rejects.toThrow(/would have 4950\d+ parameters; at most 50000000/);
  });

  it('gives up on functional models', () => {
    expect(estimateParameters({ class_name: 'Model', config: { layers: [] } }, [3])).toBeUndefined();
  });
});
