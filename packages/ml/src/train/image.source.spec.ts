import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parseJobSpec } from '@decenter/core';
import {
  decodeImage,
  ImageArchive,
  readZipImages,
  ZipArchiveWriter,
  type EncodingSpec,
} from '@decenter/data';
import { PNG } from 'pngjs';

import { initBackend } from '../backend/backend.init';
import type { DataSource } from './data.source';
import { fitTrainingEncoding, streamingSource } from './dataset.source';
import { imageArchiveSource } from './image.source';

const DIGITS = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'digits-images', 'digits.zip');
const SPEC = parseJobSpec({
  name: 'digits',
  task: 'classification',
  model: { kind: 'template', template: 'mlp' },
  data: { format: 'image-zip', imageSize: 8 },
  objective: { metric: 'accuracy' },
  schedule: { trainingDeadline: '2026-12-01T00:00:00Z', validationDeadline: '2026-12-02T00:00:00Z' },
});

interface Drawn {
  sizes: number[];
  /** One entry per image: its pixels then its one-hot label, as the model receives them. */
  rows: number[][];
}

async function drain(source: DataSource, epoch: number): Promise<Drawn> {
  const drawn: Drawn = { sizes: [], rows: [] };
  for await (const { xs, ys } of source.batches(epoch)) {
    const [count = 0] = xs.shape;
    const x = xs.dataSync();
    const y = ys.dataSync();
    const width = x.length / count;
    const classes = y.length / count;
    for (let i = 0; i < count; i++) {
      drawn.rows.push([
        ...x.subarray(i * width, (i + 1) * width),
        ...y.subarray(i * classes, (i + 1) * classes),
      ]);
    }
    drawn.sizes.push(count);
    xs.dispose();
    ys.dispose();
  }
  return drawn;
}

describe('image archive source', () => {
  let encoding: EncodingSpec;
  let dir: string;

  beforeAll(async () => {
    await initBackend('cpu');
    encoding = await fitTrainingEncoding([DIGITS], SPEC.data, SPEC.task);
    dir = await mkdtemp(path.join(tmpdir(), 'image-source-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('fits the encoding on the training archive: 8x8 grayscale, classes from the folders', () => {
    expect(encoding).toEqual({
      version: 1,
      format: 'image-zip',
      task: 'classification',
      inputShape: [8, 8, 1],
      features: [],
      label: { name: 'class', kind: 'classes', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
      pixelScale: 255,
    });
  });

  it('without a seed yields every image in archive order, scaled to [0, 1], labelled by its folder', async () => {
    const drawn = await drain(
      streamingSource({ files: [DIGITS], data: SPEC.data, encoding, batchSize: 500 }),
      1,
    );
    expect(drawn.sizes).toEqual([500, 500, 500, 297]);
    let i = 0;
    for await (const entry of readZipImages(DIGITS, { file: 'digits.zip' })) {
      const expected = decodeImage(entry.data, entry.name, { size: 8, channels: 1 });
      const row = drawn.rows[i] as number[];
      expect(row.slice(0, 64)).toEqual([...expected]);
      const label = row.slice(64);
      expect(label.indexOf(1)).toBe(Number(entry.className));
      expect(label.reduce((a, b) => a + b, 0)).toBe(1);
      i++;
    }
    expect(i).toBe(1797);
    const pixels = drawn.rows.flatMap((row) => row.slice(0, 64));
    expect(Math.min(...pixels)).toBe(0);
    expect(Math.max(...pixels)).toBe(1);
  });

  it('draws the same batches for the same seed and epoch (a replay), others for another epoch', async () => {
    const options = { files: [DIGITS], data: SPEC.data, encoding, batchSize: 64, shuffleSeed: 5 };
    const first = await drain(streamingSource(options), 3);
    expect(first.sizes).toEqual([...Array<number>(28).fill(64), 5]);
    expect(await drain(streamingSource(options), 3)).toEqual(first);
    const other = await drain(streamingSource(options), 4);
    expect(other.rows).not.toEqual(first.rows);
    const ordered = await drain(streamingSource({ ...options, shuffleSeed: undefined }), 3);
    expect(first.rows).not.toEqual(ordered.rows);
    // Each epoch is a permutation of the whole archive: every image exactly once.
    const key = (rows: number[][]): string[] => rows.map((row) => row.join(',')).sort();
    expect(key(first.rows)).toEqual(key(ordered.rows));
    expect(key(other.rows)).toEqual(key(ordered.rows));
  });

  it('inflates and decodes only the batch it yields, never the whole archive', async () => {
    const reads = jest.spyOn(ImageArchive.prototype, 'read');
    const source = imageArchiveSource({ file: DIGITS, encoding, batchSize: 32, shuffleSeed: 9 });
    let yielded = 0;
    for await (const { xs, ys } of source.batches(1)) {
      yielded += xs.shape[0];
      // Nothing is read ahead of the batch in hand.
      expect(reads).toHaveBeenCalledTimes(yielded);
      xs.dispose();
      ys.dispose();
    }
    expect(yielded).toBe(1797);
  });

  it('refuses an image whose class folder the encoding does not know', async () => {
    const narrow: EncodingSpec = {
      ...encoding,
      label: { name: 'class', kind: 'classes', classes: ['0', '1'] },
    };
    await expect(
      drain(imageArchiveSource({ file: DIGITS, encoding: narrow, batchSize: 8 }), 1),
    ).rejects.toThrow(/class folder "2", which is not one of the model's classes/);
  });

  it('trains colour archives on three channels, resized to data.imageSize', async () => {
    const file = path.join(dir, 'colour.zip');
    const writer = new ZipArchiveWriter(createWriteStream(file));
    for (const [name, rgb] of [
      ['red/a.png', [255, 0, 0]],
      ['blue/b.png', [0, 0, 255]],
    ] as const) {
      const png = new PNG({ width: 6, height: 6 });
      for (let p = 0; p < 36; p++) png.data.set([...rgb, 255], p * 4);
      await writer.add(name, PNG.sync.write(png));
    }
    await writer.finish();
    const data = { ...SPEC.data, imageSize: 4 };
    const colour = await fitTrainingEncoding([file], data, SPEC.task);
    expect(colour.inputShape).toEqual([4, 4, 3]);
    expect(colour.label).toEqual({ name: 'class', kind: 'classes', classes: ['blue', 'red'] });
    const drawn = await drain(streamingSource({ files: [file], data, encoding: colour, batchSize: 4 }), 1);
    // red/a.png first (archive order): every pixel (1, 0, 0), class "red" at index 1.
    expect(drawn.rows[0]).toEqual([...Array<number[]>(16).fill([1, 0, 0]).flat(), 0, 1]);
    expect(drawn.rows[1]).toEqual([...Array<number[]>(16).fill([0, 0, 1]).flat(), 1, 0]);
  });
});
