import type { DataSpec, Task } from '@decenter/core';

import { type EncodingSpec, type FeatureEncoding, inputSize, outputSize, sortNames } from '../encoding';
import { DataError } from '../errors';
import type { CsvRow } from './csv-reader';
import { parseNumber } from './csv-reader';
import type { CsvProfile } from './csv-schema';

/**
 * Fits the encoding on the training split only: means and standard deviations (Welford, so one pass in
 * constant memory) and the categories seen in training. Label classes come from the profile of the whole
 * data set so that a class that happens to be missing from training still has an output unit.
 */
export async function fitCsvEncoding(
  /** Rows of the training split, one by one or in batches (`readCsv` or `readCsvBatches`). */
  trainRows: AsyncIterable<CsvRow | CsvRow[]>,
  options: { profile: CsvProfile; data: DataSpec; task: Task },
): Promise<EncodingSpec> {
  const { profile, data, task } = options;
  const { featureIndex } = profile.columns;
  const count = featureIndex.map(() => 0);
  const mean = featureIndex.map(() => 0);
  const m2 = featureIndex.map(() => 0);
  const categories = featureIndex.map(() => new Set<string>());
  for await (const item of trainRows) {
    for (const row of Array.isArray(item) ? item : [item]) {
      featureIndex.forEach((index, k) => {
        const value = row.values[index] ?? '';
        if (profile.features[k]?.kind === 'numeric') {
          const x = parseNumber(value.trim()) ?? NaN;
          const n = ++(count[k] as number);
          const delta = x - (mean[k] as number);
          mean[k] = (mean[k] as number) + delta / n;
          m2[k] = (m2[k] as number) + delta * (x - mean[k]);
        } else {
          categories[k]?.add(value);
        }
      });
    }
  }
  const features: FeatureEncoding[] = featureIndex.map((_index, k) => {
    const column = profile.features[k];
    const name = column?.name ?? '';
    if (column?.kind === 'numeric') {
      const n = count[k] as number;
      const std = n > 1 ? Math.sqrt((m2[k] as number) / n) : 0;
      // A constant column carries no information; dividing by 1 keeps it finite.
      return { name, kind: 'numeric', mean: n > 0 ? (mean[k] as number) : 0, std: std > 0 ? std : 1 };
    }
    return {
      name,
      kind: 'categorical',
      encoding: data.categoricalEncoding,
      categories: sortNames(categories[k] ?? []),
    };
  });
  const width = features.reduce(
    (sum, f) => sum + (f.kind === 'categorical' && f.encoding === 'one-hot' ? f.categories.length : 1),
    0,
  );
  return {
    version: 1,
    format: 'csv',
    task,
    inputShape: [width],
    features,
    label:
      task === 'classification'
        ? { name: profile.columns.label, kind: 'classes', classes: sortNames(profile.labelValues) }
        : { name: profile.columns.label, kind: 'numeric' },
  };
}

/** Turns CSV rows into feature vectors and targets according to an EncodingSpec. */
export class CsvRowEncoder {
  private readonly featureIndex: number[];
  private readonly labelIndex: number;
  private readonly lookup: (Map<string, number> | undefined)[];
  private readonly classIndex: Map<string, number> | undefined;
  readonly inputSize: number;
  readonly outputSize: number;

  constructor(
    private readonly encoding: EncodingSpec,
    header: readonly string[],
    private readonly file: string,
  ) {
    const names = header.map((name) => name.trim());
    const index = (name: string): number => {
      const at = names.indexOf(name);
      if (at < 0) {
        throw new DataError(
          { file, line: 1 },
          `the header lacks column "${name}" that the model was trained with`,
        );
      }
      return at;
    };
    this.featureIndex = encoding.features.map((f) => index(f.name));
    this.labelIndex = index(encoding.label.name);
    this.lookup = encoding.features.map((f) =>
      f.kind === 'categorical' ? new Map(f.categories.map((c, i) => [c, i])) : undefined,
    );
    this.classIndex =
      encoding.label.kind === 'classes' ? new Map(encoding.label.classes.map((c, i) => [c, i])) : undefined;
    this.inputSize = inputSize(encoding);
    this.outputSize = outputSize(encoding);
  }

  /** Writes one row's features at `xs[xOffset..]` and its target at `ys[yOffset..]`. */
  encode(row: CsvRow, xs: Float32Array, xOffset: number, ys: Float32Array, yOffset: number): void {
    let at = xOffset;
    this.encoding.features.forEach((feature, k) => {
      const column = this.featureIndex[k] as number;
      const value = row.values[column] ?? '';
      if (feature.kind === 'numeric') {
        const x = parseNumber(value.trim());
        if (x === undefined) {
          throw new DataError(
            { file: this.file, line: row.line, column: column + 1 },
            `"${value.slice(0, 40)}" is not a number`,
          );
        }
        xs[at++] = (x - feature.mean) / feature.std;
      } else {
        // Categories never seen in training encode as all zeros (one-hot) or -1 (index).
        const category = this.lookup[k]?.get(value);
        if (feature.encoding === 'index') {
          xs[at++] = category ?? -1;
        } else {
          xs.fill(0, at, at + feature.categories.length);
          if (category !== undefined) xs[at + category] = 1;
          at += feature.categories.length;
        }
      }
    });
    const raw = row.values[this.labelIndex] ?? '';
    if (this.classIndex === undefined) {
      const y = parseNumber(raw.trim());
      if (y === undefined) {
        throw new DataError(
          { file: this.file, line: row.line, column: this.labelIndex + 1 },
          `label "${raw.slice(0, 40)}" is not a number`,
        );
      }
      ys[yOffset] = y;
      return;
    }
    const cls = this.classIndex.get(raw);
    if (cls === undefined) {
      throw new DataError(
        { file: this.file, line: row.line, column: this.labelIndex + 1 },
        `label "${raw.slice(0, 40)}" is not one of the model's classes`,
      );
    }
    ys.fill(0, yOffset, yOffset + this.outputSize);
    ys[yOffset + cls] = 1;
  }
}
