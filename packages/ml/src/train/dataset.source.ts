import { seededRandom, type DataSpec, type Task } from '@decenter/core';
import {
  DEFAULT_IMAGE_SIZE,
  fitCsvEncoding,
  idxEncoding,
  imageEncoding,
  openDataset,
  openMaybeGzip,
  profileCsv,
  profileIdx,
  profileImageZip,
  readCsv,
  type EncodingSpec,
} from '@decenter/data';
import * as tf from '@tensorflow/tfjs';
import { createReadStream } from 'node:fs';

import { TrainingError } from '../ml.errors';
import type { DataSource } from './data.source';
import { imageArchiveSource } from './image.source';

/** Examples held for shuffling: a data set up to this size is shuffled whole, bigger ones within a window. */
export const DEFAULT_SHUFFLE_WINDOW = 65_536;

/**
 * Fits the input encoding on the training file only (standardization statistics, categories, classes), as
 * the data package defines it. The encoding is saved with the model so that anyone scores data the same way;
 * the execution node's trainer and the validators (who refit it to check a candidate's recorded encoding)
 * both call this one function.
 */
export async function fitTrainingEncoding(
  files: string[],
  data: DataSpec,
  task: Task,
): Promise<EncodingSpec> {
  const [first, second] = files;
  if (data.format === 'csv' && first !== undefined && files.length === 1) {
    const profile = await profileCsv(createReadStream(first), { file: 'train.csv', data, task });
    return fitCsvEncoding(readCsv(createReadStream(first), { file: 'train.csv' }), { profile, data, task });
  }
  if (data.format === 'idx' && first !== undefined && second !== undefined && files.length === 2) {
    const paths = await idxPair(first, second);
    const profile = await profileIdx(paths, {
      files: { images: 'train-images.idx', labels: 'train-labels.idx' },
    });
    return idxEncoding(profile, task);
  }
  if (data.format === 'image-zip' && first !== undefined && files.length === 1) {
    // Decoding as RGB checks every image; the archive trains on one channel when none has colour.
    const size = data.imageSize ?? DEFAULT_IMAGE_SIZE;
    const profile = await profileImageZip(first, { file: 'train.zip', imageSize: size, channels: 3 });
    return imageEncoding(profile, size, profile.grayscale ? 1 : 3);
  }
  throw new TrainingError(
    'INVALID_DATA',
    `cannot read ${data.format} training data from ${files.length} file(s); csv and image-zip take one, idx an images and a labels file`,
  );
}

/** The number of dimensions an IDX file's header declares (its fourth byte), gzip or not. */
async function idxDimensions(file: string): Promise<number | undefined> {
  let head = Buffer.alloc(0);
  for await (const chunk of await openMaybeGzip(file)) {
    head = Buffer.concat([head, chunk]);
    if (head.length >= 4) break;
  }
  return head[3];
}

/**
 * An IDX pair in either order: the labels file is the one whose header declares one dimension. Manifests list
 * a job's objects in the order they were stored, which is not always images first.
 */
async function idxPair(first: string, second: string): Promise<{ images: string; labels: string }> {
  return (await idxDimensions(first)) === 1 && (await idxDimensions(second)) !== 1
    ? { images: second, labels: first }
    : { images: first, labels: second };
}

export interface StreamingSourceOptions {
  files: string[];
  data: DataSpec;
  encoding: EncodingSpec;
  batchSize: number;
  /** Seed of the per-epoch shuffle; leave out to keep the file order (validation). */
  shuffleSeed?: number;
  shuffleWindow?: number;
}

/**
 * A training data source read from disk every epoch in batches, never whole: examples pass through a
 * seeded shuffle window (the whole set when it fits), so each epoch's order depends only on the seed and
 * the epoch number, as replays and resumed runs require. Without a shuffle seed it reads in file order
 * (validation, holdout scoring). Image archives are read by index instead (imageArchiveSource): a seeded
 * permutation of every image, decoded per batch. The execution node trains with it and validators replay with it, so a
 * replayed epoch draws exactly the trainer's batches.
 */
export function streamingSource(options: StreamingSourceOptions): DataSource {
  if (options.data.format === 'image-zip') {
    const [file] = options.files;
    if (file === undefined || options.files.length !== 1) {
      throw new TrainingError(
        'INVALID_DATA',
        `image data is one zip archive, got ${options.files.length} files`,
      );
    }
    // Images are shuffled over the whole archive by index, decoded one batch at a time (no window).
    return imageArchiveSource({
      file,
      encoding: options.encoding,
      batchSize: options.batchSize,
      ...(options.shuffleSeed === undefined ? {} : { shuffleSeed: options.shuffleSeed }),
    });
  }
  const width = options.encoding.inputShape.reduce((a, b) => a * b, 1);
  const outWidth = options.encoding.label.kind === 'classes' ? options.encoding.label.classes.length : 1;
  const window = options.shuffleSeed === undefined ? 1 : (options.shuffleWindow ?? DEFAULT_SHUFFLE_WINDOW);
  return {
    async *batches(epoch: number) {
      const random =
        options.shuffleSeed === undefined
          ? undefined
          : seededRandom((options.shuffleSeed + Math.imul(epoch, 0x9e3779b1)) >>> 0);
      const pool: { x: Float32Array; y: Float32Array }[] = [];
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
      const place = (example: { x: Float32Array; y: Float32Array }): boolean => {
        xs.set(example.x, count * width);
        ys.set(example.y, count * outWidth);
        count++;
        return count === options.batchSize;
      };
      const takeRandom = (): { x: Float32Array; y: Float32Array } => {
        const at = random === undefined ? 0 : Math.floor(random() * pool.length);
        const last = pool.pop() as { x: Float32Array; y: Float32Array };
        if (at >= pool.length) return last;
        const picked = pool[at] as { x: Float32Array; y: Float32Array };
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
