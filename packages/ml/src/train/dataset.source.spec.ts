import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { parseJobSpec } from '@decenter/core';

import { initBackend } from '../backend/backend.init';
import type { DataSource } from './data.source';
import { fitTrainingEncoding, streamingSource } from './dataset.source';

const IRIS = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'iris', 'iris.csv');
const SPEC = parseJobSpec({
  name: 'iris',
  task: 'classification',
  model: { kind: 'template', template: 'mlp' },
  data: { format: 'csv', label: 'species' },
  objective: { metric: 'accuracy' },
  schedule: { trainingDeadline: '2026-12-01T00:00:00Z', validationDeadline: '2026-12-02T00:00:00Z' },
});

async function drain(source: DataSource, epoch: number): Promise<number[][]> {
  const out: number[][] = [];
  for await (const { xs, ys } of source.batches(epoch)) {
    out.push([...xs.dataSync(), ...ys.dataSync()]);
    xs.dispose();
    ys.dispose();
  }
  return out;
}

describe('streamingSource', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it.each([undefined, 7])(
    'draws the same batches for the same seed and epoch, and others for another epoch (window %s)',
    async (window) => {
      const encoding = await fitTrainingEncoding([IRIS], SPEC.data, SPEC.task);
      const options = {
        files: [IRIS],
        data: SPEC.data,
        encoding,
        batchSize: 16,
        shuffleSeed: 11,
        ...(window === undefined ? {} : { shuffleWindow: window }),
      };
      const first = await drain(streamingSource(options), 1);
      // 150 rows in batches of 16; each row is 4 features + 3 one-hot classes.
      expect(first.map((batch) => batch.length)).toEqual([...Array<number>(9).fill(16 * 7), 6 * 7]);
      // A second source (as a validator's replay builds) draws the trainer's very batches.
      expect(await drain(streamingSource(options), 1)).toEqual(first);
      expect(await drain(streamingSource(options), 2)).not.toEqual(first);
    },
  );

  it('keeps the file order without a shuffle seed', async () => {
    const encoding = await fitTrainingEncoding([IRIS], SPEC.data, SPEC.task);
    const source = { files: [IRIS], data: SPEC.data, encoding, batchSize: 16 };
    const ordered = await drain(streamingSource(source), 1);
    expect(await drain(streamingSource(source), 2)).toEqual(ordered);
    const shuffled = await drain(streamingSource({ ...source, shuffleSeed: 11 }), 1);
    expect(shuffled).not.toEqual(ordered);
    expect(shuffled.flat().sort()).toEqual(ordered.flat().sort());
  });

  it('refuses a file count the format cannot take, naming what it needs', async () => {
    await expect(fitTrainingEncoding([IRIS, IRIS], SPEC.data, SPEC.task)).rejects.toThrow(
      'csv and image-zip take one, idx an images and a labels file',
    );
  });

  it('fits an IDX pair given in either order, plain or gzipped, as the labels file is the 1-dimensional one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'idx-pair-'));
    try {
      const images = path.join(dir, 'a.idx');
      const labels = path.join(dir, 'b.idx.gz');
      // Six 2x2 images of bytes, labels 0..2.
      const imageHeader = Buffer.from([0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 2, 0, 0, 0, 2]);
      await writeFile(images, Buffer.concat([imageHeader, Buffer.alloc(24, 200)]));
      await writeFile(labels, gzipSync(Buffer.from([0, 0, 8, 1, 0, 0, 0, 6, 0, 1, 2, 0, 1, 2])));
      const idx = parseJobSpec({
        ...SPEC,
        data: { format: 'idx' },
        model: { kind: 'template', template: 'mlp' },
      });
      const inOrder = await fitTrainingEncoding([images, labels], idx.data, idx.task);
      expect(await fitTrainingEncoding([labels, images], idx.data, idx.task)).toEqual(inOrder);
      expect(JSON.stringify(inOrder)).toContain('"classes"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
