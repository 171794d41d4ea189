import * as tf from '@tensorflow/tfjs';

import { seededRandom } from '@decenter/core';

import { initBackend } from './backend.init';

/** Deterministic test values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => random() * 2 - 1);
}

interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: 'valid' | 'same';
}

const CASES: Case[] = [
  { name: 'valid 3x3, 1 channel', x: [2, 8, 8, 1], filter: [3, 3, 1, 4], strides: 1, pad: 'valid' },
  { name: 'same 3x3, stride 2', x: [3, 9, 7, 3], filter: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { name: 'valid 5x2, 8 channels', x: [2, 10, 6, 8], filter: [5, 2, 8, 6], strides: 1, pad: 'valid' },
];

/** Gradients of a conv -> relu -> maxpool -> dense chain with respect to the input, filter and dense weights. */
function gradients(c: Case): Float32Array[] {
  const x = tf.tensor4d(
    values(
      c.x.reduce((a, b) => a * b, 1),
      1,
    ),
    c.x,
  );
  const filter = tf.tensor4d(
    values(
      c.filter.reduce((a, b) => a * b, 1),
      2,
    ),
    c.filter,
  );
  const run = (xIn: tf.Tensor4D, w: tf.Tensor4D, dense: tf.Tensor2D): tf.Scalar => {
    const conv = tf.relu(tf.conv2d(xIn, w, c.strides, c.pad));
    const pooled = tf.maxPool(conv, 2, 2, 'same');
    const flat = tf.reshape(pooled, [c.x[0], -1]);
    return tf.sum(tf.square(tf.matMul(flat, dense)));
  };
  const flatSize = tf.tidy(() => {
    const probe = tf.maxPool(tf.conv2d(x, filter, c.strides, c.pad), 2, 2, 'same');
    return probe.size / c.x[0];
  });
  const dense = tf.tensor2d(values(flatSize * 3, 3), [flatSize, 3]);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
    run(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor2D),
  )([x, filter, dense]);
  const out = grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose([x, filter, dense, ...grads]);
  return out;
}

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
  let worst = 0;
  expected.forEach((e, i) => {
    worst = Math.max(worst, Math.abs((actual[i] ?? NaN) - e) / scale);
  });
  return worst;
}

describe('wasm training kernels', () => {
  afterAll(async () => {
    await initBackend('wasm');
  });

  it.each(CASES)('conv/pool/matmul gradients match the cpu backend: $name', async (c) => {
    await initBackend('cpu');
    const expected = gradients(c);
    const backend = await initBackend('wasm');
    expect(backend.name).toBe('wasm');
    const actual = gradients(c);
    expect(actual).toHaveLength(3);
    actual.forEach((grad, i) => {
      const reference = expected[i] ?? new Float32Array();
      expect(grad).toHaveLength(reference.length);
      expect(maxRelativeError(grad, reference)).toBeLessThan(1e-4);
    });
  });

  it.each<Case>([
    { name: 'multiplier 2, stride 2, same', x: [2, 7, 6, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
    { name: 'multiplier 1, valid', x: [1, 6, 6, 4], filter: [2, 3, 4, 1], strides: 1, pad: 'valid' },
  ])('depthwise convolution gradients match the cpu backend: $name', async (c) => {
    const compute = (): Float32Array[] => {
      const x = tf.tensor4d(
        values(
          c.x.reduce((a, b) => a * b, 1),
          7,
        ),
        [...c.x],
      );
      const w = tf.tensor4d(
        values(
          c.filter.reduce((a, b) => a * b, 1),
          8,
        ),
        [...c.filter],
      );
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad))),
      )([x, w]);
      const out = grads.map((g) => g.dataSync() as Float32Array);
      tf.dispose([x, w, ...grads]);
      return out;
    };
    await initBackend('cpu');
    const expected = compute();
    await initBackend('wasm');
    compute().forEach((grad, i) => {
      expect(maxRelativeError(grad, expected[i] ?? new Float32Array())).toBeLessThan(1e-4);
    });
  });

  it('embedding (gather) gradients match the cpu backend', async () => {
    const compute = (): Float32Array =>
      tf.tidy(() => {
        const table = tf.tensor2d(values(10 * 3, 9), [10, 3]);
        const ids = tf.tensor1d([1, 4, 4, 9, 0, 1], 'int32');
        const grad = tf.grad((t: tf.Tensor) =>
          tf.sum(tf.mul(tf.gather(t, ids), tf.range(1, 19).reshape([6, 3]))),
        )(table);
        return grad.dataSync() as Float32Array;
      });
    await initBackend('cpu');
    const expected = compute();
    await initBackend('wasm');
    const actual = compute();
    expect(Array.from(actual)).toEqual(Array.from(expected));
    // Row 4 was gathered twice: its gradient is the sum of both output rows' multipliers.
    expect(Array.from(actual.subarray(12, 15))).toEqual([4 + 7, 5 + 8, 6 + 9]);
  });

  it('sums over leading axes (bias gradients) like the cpu backend, with and without keepDims', async () => {
    const compute = (): number[][] =>
      tf.tidy(() => {
        const x = tf.tensor4d(values(3 * 5 * 4 * 6, 10), [3, 5, 4, 6]);
        return [
          tf.sum(x, [0, 1, 2]),
          tf.sum(x, [2, 0, 1], true),
          tf.sum(x.reshape([60, 6]), 0),
          tf.sum(x, [1, 2]),
        ].map((t) => [...t.shape, ...Array.from(t.dataSync())]);
      });
    await initBackend('cpu');
    const expected = compute();
    await initBackend('wasm');
    compute().forEach((result, i) => {
      const reference = expected[i] ?? [];
      expect(result).toHaveLength(reference.length);
      result.forEach((v, j) => {
        expect(v).toBeCloseTo(reference[j] ?? NaN, 4);
      });
    });
  });

  it('clones share memory on wasm and stay valid after the original is disposed', async () => {
    await initBackend('wasm');
    const before = tf.memory().numDataBuffers;
    const x = tf.tensor1d([1, 2, 3]);
    const copy = tf.clone(x);
    // The clone is a new tensor over the same buffer: one data buffer for both.
    expect(tf.memory().numDataBuffers - before).toBe(1);
    expect(copy).not.toBe(x);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    // A cast to the dtype it already has shares too; a real cast converts.
    const same = tf.cast(copy, 'float32');
    expect(tf.memory().numDataBuffers - before).toBe(1);
    const floats = tf.tensor1d([1.7, -2.2]);
    const ints = tf.cast(floats, 'int32');
    expect(tf.memory().numDataBuffers - before).toBe(3);
    expect(Array.from(ints.dataSync())).toEqual([1, -2]);
    tf.dispose([copy, same, floats, ints]);
    expect(tf.memory().numDataBuffers).toBe(before);
  });

  it('transposed matrix products match the cpu backend', async () => {
    const a = values(6 * 4, 5);
    const b = values(4 * 5, 6);
    const compute = (): Float32Array[] =>
      tf.tidy(() => {
        const ta = tf.tensor2d(a, [6, 4]);
        const tb = tf.tensor2d(b, [4, 5]);
        return [
          tf.matMul(ta.transpose(), ta.transpose(), false, true),
          tf.matMul(ta, tb.transpose(), false, true),
          tf.matMul(ta.transpose(), ta, true, true),
        ].map((t) => t.dataSync() as Float32Array);
      });
    await initBackend('cpu');
    const expected = compute();
    await initBackend('wasm');
    compute().forEach((result, i) => {
      expect(maxRelativeError(result, expected[i] ?? new Float32Array())).toBeLessThan(1e-5);
    });
  });
});
