import { type DataSpec, jobSpecSchema } from '@decenter/core';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';

import {
  type Batch,
  fitCsvEncoding,
  idxEncoding,
  imageEncoding,
  openDataset,
  profileCsv,
  profileIdx,
  profileImageZip,
  readCsv,
  SPLITS,
  splitCsv,
  splitIdx,
  splitImageZip,
} from '../src';
import { buildIdx } from './helpers/idx-builder';
import { buildZip } from './helpers/zip-builder';

async function collect(batches: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const batch of batches) out.push(batch);
  return out;
}

describe('ingest building blocks end to end', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dataset-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('CSV: profile, split, fit on train, then batches of encoded rows', async () => {
    const data: DataSpec = jobSpecSchema.shape.data.parse({
      format: 'csv',
      label: 'species',
      categorical: ['zone'],
    });
    const lines = ['size,color,zone,species'];
    for (let i = 0; i < 100; i++)
      lines.push(`${i},${i % 2 === 0 ? 'red' : 'blue'},${i % 3},${i % 4 === 0 ? 'setosa' : 'virginica'}`);
    const source = path.join(dir, 'iris.csv');
    await writeFile(source, lines.join('\n'));
    const profile = await profileCsv(createReadStream(source), {
      file: 'iris.csv',
      data,
      task: 'classification',
    });
    expect(profile.features.map((f) => `${f.name}:${f.kind}`)).toEqual([
      'size:numeric',
      'color:categorical',
      'zone:categorical',
    ]);
    expect(profile.rows).toBe(100);

    const outPath = (s: string): string => path.join(dir, `${s}.csv`);
    const outputs = {
      train: createWriteStream(outPath('train')),
      validation: createWriteStream(outPath('validation')),
      holdout: createWriteStream(outPath('holdout')),
    };
    const counts = await splitCsv(
      createReadStream(source),
      { file: 'iris.csv', data, task: 'classification' },
      outputs,
    );
    expect(counts.train + counts.validation + counts.holdout).toBe(100);
    // Each class is split by its own decks of 20 (14/3/3), so totals are within one deck of 70/15/15.
    expect(Math.abs(counts.train - 70)).toBeLessThanOrEqual(3);
    expect(Math.abs(counts.holdout - 15)).toBeLessThanOrEqual(3);

    const encoding = await fitCsvEncoding(
      readCsv(createReadStream(outPath('train')), { file: 'train.csv' }),
      { profile, data, task: 'classification' },
    );
    expect(encoding.inputShape).toEqual([1 + 2 + 3]);
    expect(encoding.label).toEqual({ name: 'species', kind: 'classes', classes: ['setosa', 'virginica'] });
    const size = encoding.features[0]!;
    expect(size.kind).toBe('numeric');
    // Statistics come from the train rows only.
    const trainSizes: number[] = [];
    for await (const row of readCsv(createReadStream(outPath('train')), { file: 't' }))
      trainSizes.push(Number(row.values[0]));
    const mean = trainSizes.reduce((a, b) => a + b, 0) / trainSizes.length;
    expect(size.kind === 'numeric' && size.mean).toBeCloseTo(mean, 9);

    const batches = await collect(
      openDataset({ format: 'csv', files: [outPath('holdout')], spec: data, encoding, batchSize: 4 }),
    );
    const sizes = batches.map((b) => b.count);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(counts.holdout);
    expect(sizes.slice(0, -1).every((c) => c === 4)).toBe(true);
    const first = batches[0]!;
    expect(first.xs).toHaveLength(4 * 6);
    expect(first.ys).toHaveLength(4 * 2);
    // One-hot blocks sum to one per row (color, zone, label).
    for (let r = 0; r < 4; r++) {
      expect(first.xs[r * 6 + 1]! + first.xs[r * 6 + 2]!).toBe(1);
      expect(first.xs[r * 6 + 3]! + first.xs[r * 6 + 4]! + first.xs[r * 6 + 5]!).toBe(1);
      expect(first.ys[r * 2]! + first.ys[r * 2 + 1]!).toBe(1);
    }
  });

  it('refuses data that does not fit the spec or the encoding', async () => {
    const data: DataSpec = jobSpecSchema.shape.data.parse({ format: 'csv', label: 'y' });
    const file = path.join(dir, 'small.csv');
    await writeFile(file, 'x,y\n1,a\n2,b\n');
    const profile = await profileCsv(createReadStream(file), {
      file: 'small.csv',
      data,
      task: 'classification',
    });
    const encoding = await fitCsvEncoding(readCsv(createReadStream(file), { file: 'small.csv' }), {
      profile,
      data,
      task: 'classification',
    });
    const other = path.join(dir, 'other.csv');
    await writeFile(other, 'x,y\n1,a\n3,zebra\n');
    await expect(
      collect(openDataset({ format: 'csv', files: [other], spec: data, encoding })),
    ).rejects.toThrow(/other\.csv, line 3, column 2: label "zebra" is not one of the model's classes/);
    await expect(
      collect(openDataset({ format: 'idx', files: [file], spec: data, encoding })),
    ).rejects.toThrow(/declares csv data, not idx/);
    await writeFile(other, 'x,z\n1,a\n');
    await expect(
      collect(openDataset({ format: 'csv', files: [other], spec: data, encoding })),
    ).rejects.toThrow(/lacks column "y"/);
  });

  it('IDX: split a pair into three valid pairs and read them in batches', async () => {
    const n = 60;
    const images = buildIdx(
      [n, 2, 3],
      Array.from({ length: n * 6 }, (_, i) => Math.floor(i / 6)),
    );
    const labels = buildIdx(
      [n],
      Array.from({ length: n }, (_, i) => i % 3),
    );
    const paths = { images: path.join(dir, 'img.idx'), labels: path.join(dir, 'lbl.idx') };
    await writeFile(paths.images, images);
    await writeFile(paths.labels, labels);
    const profile = await profileIdx(paths, { files: { images: 'img.idx', labels: 'lbl.idx' } });
    const encoding = idxEncoding(profile, 'classification');
    expect(encoding.inputShape).toEqual([2, 3, 1]);

    const out = (s: string, k: string): string => path.join(dir, `${s}-${k}.idx`);
    const outputs = Object.fromEntries(
      SPLITS.map((s) => [
        s,
        { images: createWriteStream(out(s, 'images')), labels: createWriteStream(out(s, 'labels')) },
      ]),
    ) as unknown as Parameters<typeof splitIdx>[2];
    const counts = await splitIdx(
      paths,
      {
        files: { images: 'img.idx', labels: 'lbl.idx' },
        ratios: { train: 0.7, validation: 0.15, holdout: 0.15 },
        seed: 3,
        batchSize: 7,
      },
      outputs,
    );
    expect(counts).toEqual({ train: 42, validation: 9, holdout: 9 });

    const spec = jobSpecSchema.shape.data.parse({ format: 'idx' });
    let seen = 0;
    for (const split of SPLITS) {
      const splitProfile = await profileIdx(
        { images: out(split, 'images'), labels: out(split, 'labels') },
        { files: { images: 'i', labels: 'l' } },
      );
      expect(splitProfile.records).toBe(counts[split]);
      const batches = await collect(
        openDataset({
          format: 'idx',
          files: [out(split, 'labels'), out(split, 'images')],
          spec,
          encoding,
          batchSize: 8,
        }),
      );
      for (const batch of batches) {
        for (let r = 0; r < batch.count; r++) {
          // Record k of the original holds the value k and the label k % 3: check the pairing survived.
          const k = Math.round(batch.xs[r * 6]! * 255);
          expect(batch.ys[r * 3 + (k % 3)]).toBe(1);
          seen++;
        }
      }
    }
    expect(seen).toBe(n);
  });

  it('image archives: split by class folder, decode and resize PNG and JPEG', async () => {
    const png = (shade: number): Buffer => {
      const image = new PNG({ width: 8, height: 6 });
      for (let i = 0; i < image.data.length; i += 4) image.data.set([shade, shade, shade, 255], i);
      return PNG.sync.write(image);
    };
    const jpg = (shade: number): Buffer =>
      jpeg.encode({ width: 5, height: 5, data: Buffer.alloc(5 * 5 * 4, shade) }, 95).data;
    const entries = [];
    for (let i = 0; i < 20; i++) {
      entries.push({ name: `dark/${i}.png`, data: png(20) });
      entries.push({ name: `light/${i}.jpg`, data: jpg(230) });
    }
    const archive = path.join(dir, 'images.zip');
    await writeFile(archive, buildZip([{ name: 'dark/', data: Buffer.alloc(0), store: true }, ...entries]));
    const profile = await profileImageZip(archive, { file: 'images.zip', imageSize: 4, channels: 1 });
    expect(profile).toMatchObject({ images: 40, perClass: { dark: 20, light: 20 } });
    const zipPath = (s: string): string => path.join(dir, `images-${s}.zip`);
    const counts = await splitImageZip(
      archive,
      { file: 'images.zip', ratios: { train: 0.5, validation: 0.25, holdout: 0.25 }, seed: 1 },
      {
        train: createWriteStream(zipPath('train')),
        validation: createWriteStream(zipPath('validation')),
        holdout: createWriteStream(zipPath('holdout')),
      },
    );
    expect(counts).toEqual({ train: 20, validation: 10, holdout: 10 });
    const holdoutProfile = await profileImageZip(zipPath('holdout'), {
      file: 'holdout.zip',
      imageSize: 4,
      channels: 1,
    });
    expect(holdoutProfile.perClass).toEqual({ dark: 5, light: 5 });

    const encoding = imageEncoding(profile, 4, 1);
    const spec = jobSpecSchema.shape.data.parse({ format: 'image-zip', imageSize: 4 });
    const batches = await collect(
      openDataset({ format: 'image-zip', files: [zipPath('holdout')], spec, encoding, batchSize: 4 }),
    );
    expect(batches.map((b) => b.count)).toEqual([4, 4, 2]);
    for (const batch of batches) {
      for (let r = 0; r < batch.count; r++) {
        const pixel = batch.xs[r * 16]!;
        const isDark = batch.ys[r * 2] === 1;
        expect(pixel).toBeCloseTo(isDark ? 20 / 255 : 230 / 255, 1);
      }
    }
  });
});
