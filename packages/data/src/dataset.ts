import type { DataFormat, DataSpec } from '@decenter/core';
import { createReadStream } from 'node:fs';

import { CsvRowEncoder } from './csv/csv-encoder';
import { readCsvBatches } from './csv/csv-reader';
import { type EncodingSpec, inputSize, outputSize } from './encoding';
import { DataError } from './errors';
import { type IdxBatch, type IdxHeader, openMaybeGzip, readIdx } from './idx/idx-reader';
import { decodeImage } from './images/image-decoder';
import { readZipImages, type ZipLimits } from './images/zip-reader';

export interface Batch {
  /** `count * inputSize(encoding)` values, example after example. */
  xs: Float32Array;
  /** `count * outputSize(encoding)` values: one-hot classes or the regression target. */
  ys: Float32Array;
  count: number;
}

export interface OpenDatasetOptions {
  format: DataFormat;
  /** csv: [file]; idx: [images, labels] in either order; image-zip: [archive]. */
  files: string[];
  spec: DataSpec;
  encoding: EncodingSpec;
  batchSize?: number;
  /** image-zip: read only these entries of the archive (e.g. folds for cross-validation). */
  entries?: ReadonlySet<string>;
  zipLimits?: Partial<ZipLimits>;
}

class Batcher {
  private xs: Float32Array;
  private ys: Float32Array;
  count = 0;

  constructor(
    private readonly batchSize: number,
    readonly inputSize: number,
    readonly outputSize: number,
  ) {
    this.xs = new Float32Array(batchSize * inputSize);
    this.ys = new Float32Array(batchSize * outputSize);
  }

  /** Slot for the next example: offsets into xs and ys. */
  next(): { xs: Float32Array; ys: Float32Array; x: number; y: number } {
    const slot = {
      xs: this.xs,
      ys: this.ys,
      x: this.count * this.inputSize,
      y: this.count * this.outputSize,
    };
    this.count++;
    return slot;
  }

  full(): boolean {
    return this.count === this.batchSize;
  }

  take(): Batch {
    const batch: Batch = {
      xs: this.xs.subarray(0, this.count * this.inputSize),
      ys: this.ys.subarray(0, this.count * this.outputSize),
      count: this.count,
    };
    // A fresh buffer each time: the consumer may keep the batch (tensors built from it) after the next one.
    this.xs = new Float32Array(this.batchSize * this.inputSize);
    this.ys = new Float32Array(this.batchSize * this.outputSize);
    this.count = 0;
    return batch;
  }
}

/**
 * Streams a data set as batches of encoded examples; memory holds one batch (and, for archives, one
 * image) at a time, so data sets larger than memory train fine.
 */
export async function* openDataset(options: OpenDatasetOptions): AsyncGenerator<Batch> {
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  const { encoding } = options;
  if (options.spec.format !== options.format) {
    throw new DataError(
      { file: options.files[0] ?? '' },
      `the job spec declares ${options.spec.format} data, not ${options.format}`,
    );
  }
  if (encoding.format !== options.format) {
    throw new DataError(
      { file: options.files[0] ?? '' },
      `the encoding is for ${encoding.format} data, not ${options.format}`,
    );
  }
  const batcher = new Batcher(batchSize, inputSize(encoding), outputSize(encoding));
  switch (options.format) {
    case 'csv':
      yield* csvBatches(options, batcher);
      break;
    case 'idx':
      yield* idxBatches(options, batcher, batchSize);
      break;
    case 'image-zip':
      yield* imageBatches(options, batcher);
      break;
  }
  if (batcher.count > 0) yield batcher.take();
}

async function* csvBatches(options: OpenDatasetOptions, batcher: Batcher): AsyncGenerator<Batch> {
  const file = options.files[0];
  if (file === undefined || options.files.length !== 1) throw new RangeError('CSV data sets are one file');
  let encoder: CsvRowEncoder | undefined;
  for await (const rows of readCsvBatches(createReadStream(file, { highWaterMark: 1 << 20 }), {
    file,
    onHeader: (header) => (encoder = new CsvRowEncoder(options.encoding, header, file)),
  })) {
    for (const row of rows) {
      const slot = batcher.next();
      (encoder as CsvRowEncoder).encode(row, slot.xs, slot.x, slot.ys, slot.y);
      if (batcher.full()) yield batcher.take();
    }
  }
}

async function* idxBatches(
  options: OpenDatasetOptions,
  batcher: Batcher,
  batchSize: number,
): AsyncGenerator<Batch> {
  if (options.files.length !== 2) throw new RangeError('IDX data sets are an images file and a labels file');
  // Indexed by file, not by arrival: the two headers arrive in whichever order the reads complete.
  const headers: (IdxHeader | undefined)[] = [undefined, undefined];
  const streams: AsyncGenerator<IdxBatch>[] = [];
  for (const [index, file] of options.files.entries()) {
    const onHeader = (h: IdxHeader): void => {
      headers[index] = h;
    };
    streams.push(readIdx(await openMaybeGzip(file), { file, batchSize, onHeader }));
  }
  const [a, b] = streams as [AsyncGenerator<IdxBatch>, AsyncGenerator<IdxBatch>];
  const scale = options.encoding.pixelScale ?? 1;
  const classes = options.encoding.label.kind === 'classes' ? options.encoding.label.classes : undefined;
  const classIndex = new Map(classes?.map((c, i) => [c, i]));
  for (;;) {
    const [first, second] = await Promise.all([a.next(), b.next()]);
    if (first.done === true || second.done === true) {
      if (first.done !== second.done) {
        throw new DataError(
          { file: options.files.join(' + ') },
          'the images and labels files hold different numbers of records',
        );
      }
      return;
    }
    // The labels file is the one-dimensional one.
    const labelsFirst = headers[0]?.dims.length === 1;
    const images = labelsFirst ? second.value : first.value;
    const labels = labelsFirst ? first.value : second.value;
    const imageFile = (labelsFirst ? options.files[1] : options.files[0]) ?? '';
    if (images.count !== labels.count) {
      throw new DataError(
        { file: options.files.join(' + ') },
        'the images and labels files hold different numbers of records',
      );
    }
    if (images.values.length / images.count !== batcher.inputSize) {
      throw new DataError(
        { file: imageFile },
        `records have ${images.values.length / images.count} values, the model expects ${batcher.inputSize}`,
      );
    }
    for (let i = 0; i < images.count; i++) {
      const slot = batcher.next();
      for (let k = 0; k < batcher.inputSize; k++) {
        slot.xs[slot.x + k] = (images.values[i * batcher.inputSize + k] as number) / scale;
      }
      const label = labels.values[i] as number;
      if (classes === undefined) {
        slot.ys[slot.y] = label;
      } else {
        const cls = classIndex.get(String(label));
        if (cls === undefined) {
          throw new DataError(
            { file: options.files.join(' + '), record: labels.first + i },
            `label ${label} is not one of the model's classes`,
          );
        }
        slot.ys.fill(0, slot.y, slot.y + batcher.outputSize);
        slot.ys[slot.y + cls] = 1;
      }
      if (batcher.full()) yield batcher.take();
    }
  }
}

async function* imageBatches(options: OpenDatasetOptions, batcher: Batcher): AsyncGenerator<Batch> {
  const file = options.files[0];
  if (file === undefined || options.files.length !== 1)
    throw new RangeError('image data sets are one zip archive');
  const [size, , channels] = options.encoding.inputShape as [number, number, number];
  if (channels !== 1 && channels !== 3) throw new RangeError('images have 1 or 3 channels');
  const classes = options.encoding.label.kind === 'classes' ? options.encoding.label.classes : [];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  for await (const entry of readZipImages(file, {
    file,
    ...(options.zipLimits === undefined ? {} : { limits: options.zipLimits }),
  })) {
    if (options.entries !== undefined && !options.entries.has(entry.name)) continue;
    const cls = classIndex.get(entry.className);
    if (cls === undefined) {
      throw new DataError(
        { file: `${file}:${entry.name}` },
        `class "${entry.className}" is not one of the model's classes`,
      );
    }
    const pixels = decodeImage(entry.data, `${file}:${entry.name}`, { size, channels });
    const slot = batcher.next();
    slot.xs.set(pixels, slot.x);
    slot.ys.fill(0, slot.y, slot.y + batcher.outputSize);
    slot.ys[slot.y + cls] = 1;
    if (batcher.full()) yield batcher.take();
  }
}
