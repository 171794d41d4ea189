import { seededRandom, type DataSpec } from '@decenter/core';
import { openDataset, type EncodingSpec } from '@decenter/data';
import type { DataSource } from '@decenter/ml';
import * as tf from '@tensorflow/tfjs';

/** Examples held for shuffling by the execution node's trainer (its DEFAULT_SHUFFLE_WINDOW). */
export const TRAINER_SHUFFLE_WINDOW = 65_536;

export interface TrainingSourceOptions {
  files: string[];
  data: DataSpec;
  encoding: EncodingSpec;
  batchSize: number;
  /** The trial's seed: the trainer shuffles every epoch with it. */
  shuffleSeed: number;
  shuffleWindow?: number;
}

interface Example {
  x: Float32Array;
  y: Float32Array;
}

/**
 * The training batches exactly as the execution node's trainer draws them: examples stream through a
 * shuffle window seeded by (trial seed, epoch), and a replay is only meaningful if every batch is the
 * same, so this must stay in step with execution-node's `streamingSource` (see the report: it belongs in
 * a shared package).
 */
export function trainingSource(options: TrainingSourceOptions): DataSource {
  const width = options.encoding.inputShape.reduce((a, b) => a * b, 1);
  const outWidth = options.encoding.label.kind === 'classes' ? options.encoding.label.classes.length : 1;
  const window = options.shuffleWindow ?? TRAINER_SHUFFLE_WINDOW;
  return {
    async *batches(epoch: number) {
      const random = seededRandom((options.shuffleSeed + Math.imul(epoch, 0x9e3779b1)) >>> 0);
      const pool: Example[] = [];
      let xs = new Float32Array(options.batchSize * width);
      let ys = new Float32Array(options.batchSize * outWidth);
      let count = 0;
      const emit = (): { xs: tf.Tensor; ys: tf.Tensor } => {
        const batch = {
          xs: tf.tensor(xs.subarray(0, count * width), [count, ...options.encoding.inputShape]),
          ys: tf.tensor2d(ys.subarray(0, count * outWidth), [count, outWidth]),
        };
        xs = new Float32Array(options.batchSize * width);
        ys = new Float32Array(options.batchSize * outWidth);
        count = 0;
        return batch;
      };
      const place = (example: Example): boolean => {
        xs.set(example.x, count * width);
        ys.set(example.y, count * outWidth);
        count++;
        return count === options.batchSize;
      };
      // Swap-remove a random pool entry: the same draw sequence as the trainer's.
      const takeRandom = (): Example => {
        const at = Math.floor(random() * pool.length);
        const last = pool.pop() as Example;
        if (at >= pool.length) return last;
        const picked = pool[at] as Example;
        pool[at] = last;
        return picked;
      };
      for await (const batch of openDataset({
        format: options.data.format,
        files: options.files,
        spec: options.data,
        encoding: options.encoding,
        batchSize: 1024,
      })) {
        for (let i = 0; i < batch.count; i++) {
          pool.push({
            x: batch.xs.slice(i * width, (i + 1) * width),
            y: batch.ys.slice(i * outWidth, (i + 1) * outWidth),
          });
          if (pool.length >= window && place(takeRandom())) yield emit();
        }
      }
      while (pool.length > 0) if (place(takeRandom())) yield emit();
      if (count > 0) yield emit();
    },
  };
}

/** The holdout (or any data set) in file order, for scoring. */
export function orderedSource(
  options: Omit<TrainingSourceOptions, 'shuffleSeed' | 'shuffleWindow'>,
): DataSource {
  const width = options.encoding.inputShape.reduce((a, b) => a * b, 1);
  const outWidth = options.encoding.label.kind === 'classes' ? options.encoding.label.classes.length : 1;
  return {
    async *batches() {
      for await (const batch of openDataset({
        format: options.data.format,
        files: options.files,
        spec: options.data,
        encoding: options.encoding,
        batchSize: options.batchSize,
      })) {
        yield {
          xs: tf.tensor(batch.xs.subarray(0, batch.count * width), [
            batch.count,
            ...options.encoding.inputShape,
          ]),
          ys: tf.tensor2d(batch.ys.subarray(0, batch.count * outWidth), [batch.count, outWidth]),
        };
      }
    },
  };
}
