import { seededRandom } from '@decenter/core';
import * as tf from '@tensorflow/tfjs';

import { TrainingError } from '../ml.errors';

/** One batch of samples; `train` disposes both tensors once it has used them. */
export interface Batch {
  xs: tf.Tensor;
  ys: tf.Tensor;
}

/**
 * Batches of a data set. `batches(epoch)` yields one epoch; the order of samples may depend only on the
 * epoch number (and the source's own seed), never on the clock, so a replayed epoch sees the same batches.
 */
export interface DataSource {
  batches(epoch: number): AsyncIterable<Batch>;
}

export interface ArrayDataOptions {
  /** Samples, row-major: `count * prod(inputShape)` values. */
  features: Float32Array;
  inputShape: number[];
  /** Class indices (classification, one-hot encoded here) or target values (regression, `count * outputUnits`). */
  targets: Float32Array | Int32Array;
  task: 'classification' | 'regression';
  numClasses?: number;
  batchSize: number;
  /** Shuffle seed; the epoch's order is a seeded Fisher-Yates permutation. Omit to keep the order. */
  shuffleSeed?: number;
}

/** Fisher-Yates permutation of 0..n-1 from a seeded PRNG (no Math.random anywhere in training). */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i] ?? 0;
    order[i] = order[j] ?? 0;
    order[j] = t;
  }
  return order;
}

/** An in-memory data source (tests, small tables, validation sets) with seeded per-epoch shuffling. */
export function arrayDataSource(options: ArrayDataOptions): DataSource & { count: number } {
  const sampleSize = options.inputShape.reduce((a, b) => a * b, 1);
  const count = options.features.length / sampleSize;
  const targetWidth = options.task === 'classification' ? 1 : options.targets.length / count;
  if (!Number.isInteger(count) || count === 0 || !Number.isInteger(targetWidth)) {
    throw new TrainingError(
      'INVALID_DATA',
      `features (${options.features.length} values) do not fit shape [${options.inputShape.join(', ')}] and ${options.targets.length} targets`,
    );
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new TrainingError(
      'INVALID_ARGUMENT',
      `batchSize must be a positive integer, got ${options.batchSize}`,
    );
  }
  const numClasses = options.numClasses ?? 0;
  if (options.task === 'classification' && numClasses < 2) {
    throw new TrainingError('INVALID_ARGUMENT', 'classification data needs numClasses >= 2');
  }
  return {
    count,
    async *batches(epoch: number): AsyncIterable<Batch> {
      const order =
        options.shuffleSeed === undefined
          ? Uint32Array.from({ length: count }, (_, i) => i)
          : seededPermutation(count, (options.shuffleSeed + Math.imul(epoch, 0x9e3779b1)) >>> 0);
      for (let start = 0; start < count; start += options.batchSize) {
        const size = Math.min(options.batchSize, count - start);
        const xs = new Float32Array(size * sampleSize);
        const ys = new Float32Array(size * (options.task === 'classification' ? numClasses : targetWidth));
        for (let i = 0; i < size; i++) {
          const row = order[start + i] ?? 0;
          xs.set(options.features.subarray(row * sampleSize, (row + 1) * sampleSize), i * sampleSize);
          if (options.task === 'classification') {
            const label = options.targets[row] ?? -1;
            if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
              throw new TrainingError(
                'INVALID_DATA',
                `label ${label} of sample ${row} is outside 0..${numClasses - 1}`,
              );
            }
            ys[i * numClasses + label] = 1;
          } else {
            ys.set(options.targets.subarray(row * targetWidth, (row + 1) * targetWidth), i * targetWidth);
          }
        }
        yield {
          xs: tf.tensor(xs, [size, ...options.inputShape]),
          ys: tf.tensor2d(ys, [size, options.task === 'classification' ? numClasses : targetWidth]),
        };
        await Promise.resolve();
      }
    },
  };
}
