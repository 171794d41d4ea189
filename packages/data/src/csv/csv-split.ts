import type { DataSpec, Task } from '@decenter/core';
import type { Writable } from 'node:stream';

import { type SplitCounts, type SplitName, splitRecords } from '../split';
import { endAll, writeAll } from '../write-stream';
import type { CsvLimits } from './csv-parser';
import { type ByteSource, formatCsvRow, neutralizeCell, readCsv } from './csv-reader';
import { resolveColumns } from './csv-schema';

export interface SplitCsvOptions {
  file: string;
  data: DataSpec;
  task: Task;
  limits?: Partial<CsvLimits>;
}

/**
 * Splits a CSV file into three CSV outputs (header repeated in each) in one streaming pass, stratified by
 * the label for classification. Cells a spreadsheet would run as formulas are written with a leading `'`.
 * The outputs are ended when done; they are not closed on failure (the caller discards them).
 */
export async function splitCsv(
  source: ByteSource,
  options: SplitCsvOptions,
  outputs: Record<SplitName, Writable>,
): Promise<SplitCounts> {
  let labelIndex = -1;
  const rows = readCsv(source, {
    file: options.file,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    onHeader: (header) => {
      labelIndex = resolveColumns(header, options.data, options.file).labelIndex;
      const line = formatCsvRow(header.map(neutralizeCell));
      for (const out of Object.values(outputs)) out.write(line);
    },
  });
  const counts = await splitRecords(
    rows,
    {
      ratios: options.data.split,
      seed: options.data.splitSeed,
      labelOf: (row) => (options.task === 'classification' ? row.values[labelIndex] : undefined),
    },
    (split, row) => writeAll(outputs[split], formatCsvRow(row.values.map(neutralizeCell))),
  );
  await Promise.all(Object.values(outputs).map(endAll));
  return counts;
}
