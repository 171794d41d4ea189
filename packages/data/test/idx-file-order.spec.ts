import { jobSpecSchema } from '@decenter/core';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { idxEncoding, openDataset, profileIdx } from '../src';
import { buildIdx } from './helpers/idx-builder';

/**
 * Which of the two files is slow to deliver its first bytes. The real I/O race (a busy disk, a thread
 * pool full of other reads: about 1 run in 20 with the MNIST sizes here) is made certain by holding that
 * file's stream back until the other one has started.
 */
const slow: { file: string | undefined } = { file: undefined };

jest.mock('../src/idx/idx-reader', () => {
  const actual = jest.requireActual<typeof import('../src/idx/idx-reader')>('../src/idx/idx-reader');
  return {
    ...actual,
    openMaybeGzip: async (file: string): Promise<AsyncIterable<Buffer>> => {
      const stream = await actual.openMaybeGzip(file);
      if (file !== slow.file) return stream;
      return (async function* held() {
        await sleep(100);
        yield* stream;
      })();
    },
  };
});

/**
 * openDataset takes an IDX pair "in either order" and tells images from labels by their headers. It used to
 * look at the header that *arrived* first, not at the header of the first file: when the labels' header
 * arrived first, the labels were read as images ("records have 1 values, the model expects 784" on
 * .../input/train-labels.idx, seen twice on executors in the 2-node benchmark).
 */
describe('openDataset on an IDX pair whose files arrive at different speeds', () => {
  let dir: string;
  const n = 300;
  const width = 784;
  let images: string;
  let labels: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'idx-order-'));
    images = path.join(dir, 'train-images.idx');
    labels = path.join(dir, 'train-labels.idx');
    await writeFile(
      images,
      buildIdx(
        [n, 28, 28],
        Array.from({ length: n * width }, (_, i) => (Math.floor(i / width) * 3 + (i % width)) % 256),
      ),
    );
    await writeFile(
      labels,
      buildIdx(
        [n],
        Array.from({ length: n }, (_, i) => i % 10),
      ),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cases: [string, () => [string, string], () => string][] = [
    ['images first, images slow', () => [images, labels], () => images],
    ['images first, labels slow', () => [images, labels], () => labels],
    ['labels first, labels slow', () => [labels, images], () => labels],
    ['labels first, images slow', () => [labels, images], () => images],
  ];

  it.each(cases)('%s: each record is its own image with its own label', async (_, files, slowFile) => {
    slow.file = slowFile();
    const profile = await profileIdx({ images, labels }, { files: { images: 'images', labels: 'labels' } });
    const encoding = idxEncoding(profile, 'classification');
    const spec = jobSpecSchema.shape.data.parse({ format: 'idx' });
    let records = 0;
    for await (const batch of openDataset({
      format: 'idx',
      files: files(),
      spec,
      encoding,
      batchSize: 128,
    })) {
      expect(batch.xs.length).toBe(batch.count * width);
      for (let i = 0; i < batch.count; i++) {
        const record = records + i;
        expect(batch.ys.subarray(i * 10, (i + 1) * 10).indexOf(1)).toBe(record % 10);
        expect(batch.xs[i * width + 1]).toBeCloseTo(((record * 3 + 1) % 256) / (encoding.pixelScale ?? 1), 6);
      }
      records += batch.count;
    }
    expect(records).toBe(n);
  });
});
