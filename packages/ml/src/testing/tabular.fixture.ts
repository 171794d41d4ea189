import { readFileSync } from 'node:fs';
import path from 'node:path';

import { seededPermutation } from '../train/data.source';

/** A labelled table split into standardized train and holdout parts (test helper, not exported). */
export interface TabularSplit {
  numFeatures: number;
  classes: string[];
  train: { features: Float32Array; labels: Int32Array };
  holdout: { features: Float32Array; labels: Int32Array };
}

/** Reads fixtures/<name>/<name>.csv (numeric features, class name last), splits with a seed, z-scores on train. */
export function loadFixture(name: string, holdoutShare: number, seed: number): TabularSplit {
  const file = path.join(__dirname, '../../../../fixtures', name, `${name}.csv`);
  const [header = '', ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const numFeatures = header.split(',').length - 1;
  const classes: string[] = [];
  const rows = lines.map((line) => {
    const cells = line.split(',');
    const label = cells.pop() ?? '';
    if (!classes.includes(label)) classes.push(label);
    return { values: cells.map(Number), label: classes.indexOf(label) };
  });
  const order = seededPermutation(rows.length, seed);
  const holdoutCount = Math.round(rows.length * holdoutShare);
  const pick = (indices: Uint32Array): { features: Float32Array; labels: Int32Array } => ({
    features: Float32Array.from(Array.from(indices).flatMap((i) => rows[i]?.values ?? [])),
    labels: Int32Array.from(Array.from(indices).map((i) => rows[i]?.label ?? -1)),
  });
  const train = pick(order.subarray(holdoutCount));
  const holdout = pick(order.subarray(0, holdoutCount));
  for (let f = 0; f < numFeatures; f++) {
    const column = Array.from(
      { length: train.labels.length },
      (_, i) => train.features[i * numFeatures + f] ?? 0,
    );
    const mean = column.reduce((a, b) => a + b, 0) / column.length;
    const std = Math.sqrt(column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length) || 1;
    for (const part of [train, holdout]) {
      for (let i = 0; i < part.labels.length; i++) {
        const at = i * numFeatures + f;
        part.features[at] = ((part.features[at] ?? 0) - mean) / std;
      }
    }
  }
  return { numFeatures, classes, train, holdout };
}
