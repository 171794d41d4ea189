import type { JobSpec } from '@decenter/core';
import type { EncodingSpec } from '@decenter/data';
import { fitTrainingEncoding as fitAsTrainerDoes } from '@decenter/ml';

/**
 * Fits the input encoding on the job's training data with the very function the execution node's
 * trainer uses (profile, then fit, on the train split only), so a candidate's recorded encoding can be checked.
 * Every format is refitted: CSV statistics and categories, IDX classes and pixel scale, image archives' classes,
 * size and channels.
 */
export async function fitTrainingEncoding(
  spec: JobSpec,
  trainFiles: readonly string[],
): Promise<EncodingSpec> {
  return fitAsTrainerDoes([...trainFiles], spec.data, spec.task);
}
