import { createReadStream } from 'node:fs';

import type { JobSpec } from '@decenter/core';
import { fitCsvEncoding, profileCsv, readCsv, type EncodingSpec } from '@decenter/data';

/**
 * Fits the input encoding on the job's training data exactly as the execution node's trainer does
 * (profile, then fit, on the train split only), so a candidate's recorded encoding can be checked.
 * Only CSV is refitted: the trainer trains CSV data sets; undefined for other formats.
 */
export async function fitTrainingEncoding(
  spec: JobSpec,
  trainFiles: readonly string[],
): Promise<EncodingSpec | undefined> {
  const [file] = trainFiles;
  if (spec.data.format !== 'csv' || file === undefined || trainFiles.length !== 1) return undefined;
  const profile = await profileCsv(createReadStream(file), {
    file: 'train',
    data: spec.data,
    task: spec.task,
  });
  return fitCsvEncoding(readCsv(createReadStream(file), { file: 'train' }), {
    profile,
    data: spec.data,
    task: spec.task,
  });
}
