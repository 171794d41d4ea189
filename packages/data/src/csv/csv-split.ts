import type { DataSpec, Task } from '@decenter/core';
import type { Writable } from 'node:stream';

import { SPLITS, SplitAssigner, type SplitCounts, type SplitName } from '../split';
import { endAll, writeAll } from '../write-stream';
import type { CsvLimits } from './csv-parser';
import { type ByteSource, formatCsvRow, neutralizeCell, readCsvBatches } from './csv-reader';
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
  const assigner = new SplitAssigner(options.data.split, options.data.splitSeed);
  const classification = options.task === 'classification';
  for await (const batch of readCsvBatches(source, {
    file: options.file,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    onHeader: (header) => {
      labelIndex = resolveColumns(header, options.data, options.file).labelIndex;
      const line = formatCsvRow(header.map(neutralizeCell));
      for (const out of Object.values(outputs)) out.write(line);
    },
  })) {
    // One write per output and batch: far fewer stream calls than one per row.
    const text: Record<SplitName, string> = { train: '', validation: '', holdout: '' };
    for (const row of batch) {
      const split = assigner.assign(classification ? row.values[labelIndex] : '');
      text[split] += formatCsvRow(row.values.map(neutralizeCell));
    }
    for (const split of SPLITS) if (text[split] !== '') await writeAll(outputs[split], text[split]);
  }
  await Promise.all(Object.values(outputs).map(endAll));
  const counts = { ...assigner.totals };
  return counts;
}
