import type { DataSpec, Task } from '@decenter/core';

import { DataError } from '../errors';
import type { CsvLimits } from './csv-parser';
import { type ByteSource, isFormulaCell, parseNumber, readCsvBatches } from './csv-reader';

export interface CsvColumns {
  features: string[];
  label: string;
  /** Index of each used column in the header. */
  featureIndex: number[];
  labelIndex: number;
}

/** Checks the header against the spec's feature and label columns; features default to all but the label. */
export function resolveColumns(header: readonly string[], data: DataSpec, file: string): CsvColumns {
  const label = data.label;
  if (label === undefined) {
    throw new DataError({ file, line: 1 }, 'the spec names no label column', {
      hint: 'Set data.label in the job spec to the name of the column to predict.',
    });
  }
  const names = header.map((name) => name.trim());
  const features = data.features ?? names.filter((name) => name !== label);
  const missing = [label, ...features].filter((name) => !names.includes(name));
  if (missing.length > 0) {
    throw new DataError(
      { file, line: 1 },
      `the header lacks column(s) ${missing.map((m) => `"${m}"`).join(', ')}`,
      {
        hint: `The header has: ${names.slice(0, 50).join(', ')}. Fix data.features / data.label or the file.`,
      },
    );
  }
  if (features.includes(label)) {
    throw new DataError({ file, line: 1 }, `label column "${label}" is also listed as a feature`, {
      hint: 'Remove the label from data.features.',
    });
  }
  if (features.length === 0) {
    throw new DataError({ file, line: 1 }, 'there are no feature columns besides the label');
  }
  return {
    features,
    label,
    featureIndex: features.map((name) => names.indexOf(name)),
    labelIndex: names.indexOf(label),
  };
}

export interface ColumnProfile {
  name: string;
  kind: 'numeric' | 'categorical';
  /** Distinct values of a categorical column (sorted later by the encoder). */
  distinct: number;
}

export interface FormulaCell {
  line: number;
  column: number;
  name: string;
}

export interface CsvProfile {
  header: string[];
  columns: CsvColumns;
  features: ColumnProfile[];
  label: ColumnProfile;
  rows: number;
  /** Label values seen (classification), in first-seen order. */
  labelValues: string[];
  /** Text cells that spreadsheets would evaluate (first `maxReported`); neutralized in re-exported CSVs. */
  formulaCells: FormulaCell[];
  formulaCellCount: number;
}

export interface ProfileOptions {
  file: string;
  data: DataSpec;
  task: Task;
  limits?: Partial<CsvLimits>;
  /** Distinct values a categorical column may have before it is refused as an ID-like column. */
  maxCategories?: number;
  maxReported?: number;
}

/**
 * One streaming pass that validates a CSV file against the spec and infers each used column's type: a
 * column is numeric when every value is a number and the spec does not call it categorical. Empty values
 * are refused (missing values are not supported), as are label values that do not fit the task.
 */
export async function profileCsv(source: ByteSource, options: ProfileOptions): Promise<CsvProfile> {
  const { file, data, task } = options;
  const maxCategories = options.maxCategories ?? 10_000;
  const maxReported = options.maxReported ?? 100;
  let header: string[] = [];
  let columns: CsvColumns | undefined;
  let numeric: boolean[] = [];
  let distinct: Set<string>[] = [];
  const labelValues = new Set<string>();
  const formulaCells: FormulaCell[] = [];
  let formulaCellCount = 0;
  let rows = 0;
  let used: number[] = [];
  for await (const batch of readCsvBatches(source, {
    file,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    onHeader: (h) => {
      header = [...h];
      columns = resolveColumns(h, data, file);
      used = [...columns.featureIndex, columns.labelIndex];
      numeric = used.map((index) => !data.categorical.includes(header[index]?.trim() ?? ''));
      distinct = used.map(() => new Set<string>());
    },
  })) {
    for (const row of batch) {
      rows++;
      for (let k = 0; k < used.length; k++) {
        const index = used[k] as number;
        const value = row.values[index] as string;
        const name = header[index]?.trim() ?? '';
        const isLabel = k === used.length - 1;
        if (value.trim() === '') {
          throw new DataError({ file, line: row.line, column: index + 1 }, `column "${name}" has no value`, {
            hint: 'Missing values are not supported: fill them in or drop the row.',
          });
        }
        const number = parseNumber(value.trim());
        if (isLabel && task === 'regression' && number === undefined) {
          throw new DataError(
            { file, line: row.line, column: index + 1 },
            `label "${value.slice(0, 40)}" is not a number`,
            {
              hint: 'A regression task needs a numeric label column.',
            },
          );
        }
        if (number === undefined) numeric[k] = false;
        if (isLabel && task === 'classification') {
          labelValues.add(value);
          if (labelValues.size > maxCategories) {
            throw new DataError(
              { file, line: row.line, column: index + 1 },
              `label column "${name}" has more than ${maxCategories} classes`,
              { hint: 'A label with this many values looks continuous: use a regression task.' },
            );
          }
        }
        const set = distinct[k] as Set<string>;
        if (set.size <= maxCategories) set.add(value);
        if (!numeric[k] && set.size > maxCategories && !(isLabel && task === 'regression')) {
          throw new DataError(
            { file, line: row.line, column: index + 1 },
            `column "${name}" has more than ${maxCategories} distinct text values`,
            { hint: 'It looks like an identifier column: leave it out of data.features.' },
          );
        }
        if (number === undefined && isFormulaCell(value)) {
          formulaCellCount++;
          if (formulaCells.length < maxReported)
            formulaCells.push({ line: row.line, column: index + 1, name });
        }
      }
    }
  }
  const cols = columns;
  if (cols === undefined) throw new DataError({ file, line: 1 }, 'the file is empty');
  if (rows === 0) throw new DataError({ file, line: 2 }, 'the file has a header but no rows');
  const profileOf = (k: number, index: number): ColumnProfile => ({
    name: header[index]?.trim() ?? '',
    kind: numeric[k] === true ? 'numeric' : 'categorical',
    distinct: (distinct[k] as Set<string>).size,
  });
  const features = cols.featureIndex.map((index, k) => profileOf(k, index));
  const label = profileOf(cols.featureIndex.length, cols.labelIndex);
  if (task === 'classification') label.kind = 'categorical';
  if (task === 'classification' && labelValues.size < 2) {
    throw new DataError(
      { file },
      `label column "${cols.label}" has ${labelValues.size} class; classification needs two or more`,
    );
  }
  return {
    header,
    columns: cols,
    features,
    label,
    rows,
    labelValues: [...labelValues],
    formulaCells,
    formulaCellCount,
  };
}
