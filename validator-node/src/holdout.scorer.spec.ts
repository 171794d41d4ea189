import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parseJobSpec } from '@decenter/core';
import { imageEncoding, ZipArchiveWriter } from '@decenter/data';
import { PNG } from 'pngjs';

import { fitEncoding, IRIS_SPEC } from '../test/support/candidate.fixture';
import { countContamination, scorePredictions } from './holdout.scorer';

describe('scorePredictions', () => {
  it('computes accuracy, macro-F1, log-loss and the confusion matrix of a hand-checked case', () => {
    // true: 0 0 1 1 2; predicted: 0 1 1 1 2
    const probabilities = [
      [0.8, 0.1, 0.1],
      [0.4, 0.5, 0.1],
      [0.1, 0.8, 0.1],
      [0.2, 0.7, 0.1],
      [0.1, 0.1, 0.8],
    ].map((row) => Float32Array.from(row));
    const score = scorePredictions(
      { task: 'classification', labels: [0, 0, 1, 1, 2], probabilities },
      'macro-f1',
    );
    expect(score.samples).toBe(5);
    expect(score.metrics['accuracy']).toBeCloseTo(0.8, 10);
    // F1 per class: class 0: 2*1/(2+1)=0.6667; class 1: 2*2/(2+3)=0.8; class 2: 1 -> mean 0.8222
    expect(score.metrics['macro-f1']).toBeCloseTo((2 / 3 + 0.8 + 1) / 3, 6);
    expect(score.objective).toBe(score.metrics['macro-f1']);
    const expectedLogLoss =
      -(Math.log(0.8) + Math.log(0.4) + Math.log(0.8) + Math.log(0.7) + Math.log(0.8)) / 5;
    expect(score.metrics['log-loss']).toBeCloseTo(expectedLogLoss, 5);
    expect(score.confusionMatrix).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [0, 0, 1],
    ]);
  });

  it('scores regression with RMSE and MAE only', () => {
    const score = scorePredictions(
      { task: 'regression', targets: [1, 2, 3, 4], values: [1, 2, 3, 6] },
      'rmse',
    );
    expect(score.metrics).toEqual({ rmse: 1, mae: 0.5 });
    expect(score.objective).toBe(1);
    expect(score.confusionMatrix).toBeUndefined();
  });

  it('refuses an objective that does not fit the task', () => {
    expect(() => scorePredictions({ task: 'regression', targets: [1], values: [1] }, 'accuracy')).toThrow(
      /does not fit a regression task/,
    );
  });
});

describe('countContamination', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'contamination-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts the holdout rows that also occur in the training data', async () => {
    const header = 'sepal_length,sepal_width,petal_length,petal_width,species';
    const train = [
      header,
      '5.1,3.5,1.4,0.2,setosa',
      '7.0,3.2,4.7,1.4,versicolor',
      '6.3,3.3,6.0,2.5,virginica',
    ];
    const holdout = [
      header,
      '5.1,3.5,1.4,0.2,setosa',
      '6.4,3.2,4.5,1.5,versicolor',
      '6.3,3.3,6.0,2.5,virginica',
      '6.3,3.3,6.0,2.5,versicolor',
    ];
    const trainFile = path.join(dir, 'train.csv');
    const holdoutFile = path.join(dir, 'holdout.csv');
    await writeFile(trainFile, `${train.join('\n')}\n`);
    await writeFile(holdoutFile, `${holdout.join('\n')}\n`);
    const spec = parseJobSpec(IRIS_SPEC);
    const encoding = await fitEncoding(spec, trainFile);
    const open = (file: string) => ({ format: 'csv' as const, files: [file], spec: spec.data, encoding });
    // Same features with another label is not the same row.
    await expect(countContamination(open(holdoutFile), [open(trainFile)])).resolves.toEqual({
      holdoutRows: 4,
      contaminatedRows: 2,
    });
  });

  it('counts holdout images whose bytes also occur in the training archive, whatever their name or folder', async () => {
    const png = (shade: number): Buffer => {
      const image = new PNG({ width: 4, height: 4 });
      image.data.fill(shade);
      return PNG.sync.write(image);
    };
    const archive = async (name: string, entries: [string, Buffer][]): Promise<string> => {
      const file = path.join(dir, name);
      const writer = new ZipArchiveWriter(createWriteStream(file));
      for (const [entry, bytes] of entries) await writer.add(entry, bytes);
      await writer.finish();
      return file;
    };
    const trainFile = await archive('train.zip', [
      ['dark/a.png', png(10)],
      ['light/b.png', png(240)],
    ]);
    const holdoutFile = await archive('holdout.zip', [
      ['dark/copy-of-a.png', png(10)],
      ['dark/c.png', png(20)],
      ['dark/b-mislabelled.png', png(240)],
    ]);
    const spec = parseJobSpec({ ...IRIS_SPEC, data: { format: 'image-zip', imageSize: 4 } });
    const encoding = imageEncoding(
      { images: 2, perClass: { dark: 1, light: 1 }, classes: ['dark', 'light'], grayscale: false },
      4,
      3,
    );
    const open = (file: string) => ({
      format: 'image-zip' as const,
      files: [file],
      spec: spec.data,
      encoding,
    });
    await expect(countContamination(open(holdoutFile), [open(trainFile)])).resolves.toEqual({
      holdoutRows: 3,
      contaminatedRows: 2,
    });
  });
});
