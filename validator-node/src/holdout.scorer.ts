import { createHash } from 'node:crypto';

import type { Metric, Task } from '@decenter/core';
import { openDataset, readZipImages, type OpenDatasetOptions } from '@decenter/data';
import {
  accuracy,
  argMax,
  confusionMatrix,
  logLoss,
  macroF1,
  mae,
  predict,
  rmse,
  type DataSource,
  type Predictions,
} from '@decenter/ml';
import type * as tf from '@tensorflow/tfjs';

export interface HoldoutScore {
  /** The job's objective metric on the holdout: what SubmitScores records as the score. */
  objective: number;
  /** The full metric set for the task (names as in the spec's metrics). */
  metrics: Record<string, number>;
  /** counts[true][predicted] (classification). */
  confusionMatrix?: number[][];
  samples: number;
}

/** Every metric that fits the task, from predictions gathered on the holdout. */
export function scorePredictions(predictions: Predictions, objective: Metric): HoldoutScore {
  const metrics: Record<string, number> = {};
  let matrix: number[][] | undefined;
  let samples: number;
  if (predictions.task === 'classification') {
    const numClasses = predictions.probabilities[0]?.length ?? 0;
    const predicted = predictions.probabilities.map((p) => argMax(p));
    samples = predictions.labels.length;
    metrics['accuracy'] = accuracy(predictions.labels, predicted);
    metrics['macro-f1'] = macroF1(predictions.labels, predicted, numClasses);
    metrics['log-loss'] = logLoss(predictions.labels, predictions.probabilities);
    matrix = confusionMatrix(predictions.labels, predicted, numClasses);
  } else {
    samples = predictions.targets.length;
    metrics['rmse'] = rmse(predictions.targets, predictions.values);
    metrics['mae'] = mae(predictions.targets, predictions.values);
  }
  const value = metrics[objective];
  if (value === undefined) {
    throw new RangeError(`the objective ${objective} does not fit a ${predictions.task} task`);
  }
  if (!Number.isFinite(value)) throw new RangeError(`the holdout ${objective} is not a finite number`);
  return { objective: value, metrics, ...(matrix === undefined ? {} : { confusionMatrix: matrix }), samples };
}

export async function scoreOnHoldout(
  model: tf.LayersModel,
  holdout: DataSource,
  task: Task,
  objective: Metric,
): Promise<HoldoutScore> {
  return scorePredictions(await predict(model, holdout, task), objective);
}

export interface Contamination {
  holdoutRows: number;
  /** Holdout rows whose encoded features and label also occur in the training data. */
  contaminatedRows: number;
}

function rowKey(xs: Float32Array, ys: Float32Array): string {
  const hash = createHash('sha256');
  hash.update(new Uint8Array(xs.buffer, xs.byteOffset, xs.byteLength));
  hash.update(new Uint8Array(ys.buffer, ys.byteOffset, ys.byteLength));
  return hash.digest('base64');
}

async function forEachRow(options: OpenDatasetOptions, visit: (key: string) => void): Promise<void> {
  if (options.format === 'image-zip') {
    // Images are compared by the SHA-256 of each entry's bytes: the same file under another name or in
    // another class folder is still the same image. One entry is in memory at a time.
    for (const file of options.files) {
      for await (const entry of readZipImages(file, {
        file,
        ...(options.zipLimits === undefined ? {} : { limits: options.zipLimits }),
      })) {
        if (options.entries !== undefined && !options.entries.has(entry.name)) continue;
        visit(createHash('sha256').update(entry.data).digest('base64'));
      }
    }
    return;
  }
  const width = options.encoding.inputShape.reduce((a, b) => a * b, 1);
  const outWidth = options.encoding.label.kind === 'classes' ? options.encoding.label.classes.length : 1;
  for await (const batch of openDataset(options)) {
    for (let i = 0; i < batch.count; i++) {
      visit(
        rowKey(
          batch.xs.subarray(i * width, (i + 1) * width),
          batch.ys.subarray(i * outWidth, (i + 1) * outWidth),
        ),
      );
    }
  }
}

/**
 * Counts holdout rows that also appear in the training data. CSV and IDX rows are compared as the model
 * sees them (encoded with the candidate's encoding); images by the content hash of each archive entry.
 */
export async function countContamination(
  holdout: OpenDatasetOptions,
  train: readonly OpenDatasetOptions[],
): Promise<Contamination> {
  const seen = new Set<string>();
  for (const source of train) {
    await forEachRow(source, (key) => {
      seen.add(key);
    });
  }
  let holdoutRows = 0;
  let contaminatedRows = 0;
  await forEachRow(holdout, (key) => {
    holdoutRows++;
    if (seen.has(key)) contaminatedRows++;
  });
  return { holdoutRows, contaminatedRows };
}
