import { decodeImage, ImageArchive, type EncodingSpec, type ZipLimits } from '@decenter/data';
import * as tf from '@tensorflow/tfjs';

import { TrainingError } from '../ml.errors';
import type { DataSource } from './data.source';
import { seededPermutation } from './data.source';

export interface ImageArchiveSourceOptions {
  /** The zip archive of images in class folders. */
  file: string;
  /** Its encoding: inputShape [size, size, channels] and the class list (from the training archive). */
  encoding: EncodingSpec;
  batchSize: number;
  /** Seed of the per-epoch shuffle over the whole archive; leave out to keep the archive order. */
  shuffleSeed?: number;
  zipLimits?: Partial<ZipLimits>;
}

/**
 * Batches of an image archive read lazily: each epoch opens the archive's central directory, orders its
 * images by a seeded permutation of the whole set (the epoch's seed is derived as the other sources derive
 * it), and inflates and decodes only the images of the batch it is building. Memory holds the entry list
 * and one batch, never the decoded set, so an archive bigger than memory trains, and a validator that
 * replays an epoch reads exactly the trainer's batches.
 */
export function imageArchiveSource(options: ImageArchiveSourceOptions): DataSource {
  const { encoding, batchSize } = options;
  const [height, width, channels] = encoding.inputShape;
  if (
    encoding.format !== 'image-zip' ||
    encoding.inputShape.length !== 3 ||
    height !== width ||
    (channels !== 1 && channels !== 3) ||
    encoding.label.kind !== 'classes'
  ) {
    throw new TrainingError(
      'INVALID_DATA',
      `an image archive needs an image-zip encoding shaped [size, size, 1 or 3] with classes, got ${encoding.format} [${encoding.inputShape.join(', ')}]`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TrainingError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`);
  }
  const size = height as number;
  const sampleSize = size * size * channels;
  const classes = encoding.label.classes;
  const classIndex = new Map(classes.map((name, i) => [name, i]));
  return {
    async *batches(epoch: number) {
      const archive = await ImageArchive.open(options.file, {
        file: options.file,
        ...(options.zipLimits === undefined ? {} : { limits: options.zipLimits }),
      });
      try {
        const count = archive.images.length;
        const order =
          options.shuffleSeed === undefined
            ? Uint32Array.from({ length: count }, (_, i) => i)
            : seededPermutation(count, (options.shuffleSeed + Math.imul(epoch, 0x9e3779b1)) >>> 0);
        for (let start = 0; start < count; start += batchSize) {
          const take = Math.min(batchSize, count - start);
          const xs = new Float32Array(take * sampleSize);
          const ys = new Float32Array(take * classes.length);
          for (let i = 0; i < take; i++) {
            const position = order[start + i] as number;
            const image = archive.images[position];
            const label = image === undefined ? undefined : classIndex.get(image.className);
            if (image === undefined || label === undefined) {
              throw new TrainingError(
                'INVALID_DATA',
                `${options.file}: image "${image?.name ?? position}" is in class folder "${image?.className ?? ''}", which is not one of the model's classes (${classes.join(', ')})`,
              );
            }
            const pixels = decodeImage(await archive.read(position), `${options.file}:${image.name}`, {
              size,
              channels,
            });
            xs.set(pixels, i * sampleSize);
            ys[i * classes.length + label] = 1;
          }
          yield {
            xs: tf.tensor4d(xs, [take, size, size, channels]),
            ys: tf.tensor2d(ys, [take, classes.length]),
          };
        }
      } finally {
        archive.close();
      }
    },
  };
}
