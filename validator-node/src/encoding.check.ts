import type { JobSpec } from '@decenter/core';
import type { EncodingSpec } from '@decenter/data';
import { fitTrainingEncoding as fitAsTrainerDoes } from '@decenter/ml';

/**
 * Fits the input encoding on the job's training data with the very function the execution node's
 * trainer uses (profile, then fit, on the train split only), so a candidate's recorded encoding can be checked.
 * Only CSV is refitted; other formats give undefined (their encoding is not checked yet).
 */
export async function fitTrainingEncoding(
  spec: JobSpec,
  trainFiles: readonly string[],
): Promise<EncodingSpec | undefined> {
  const [file] = trainFiles;
  if (spec.data.format !== 'csv' || file === undefined || trainFiles.length !== 1) return undefined;
  return fitAsTrainerDoes([file], spec.data, spec.task);
}
