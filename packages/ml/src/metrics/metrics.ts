import type { Metric } from '@decenter/core';

/**
 * Evaluation metrics as pure functions on plain arrays, so validators of every org compute the same
 * score from the same predictions whatever backend produced them.
 */

function requireSameLength(a: readonly unknown[], b: readonly unknown[], what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: ${a.length} labels but ${b.length} predictions`);
  if (a.length === 0) throw new RangeError(`${what}: no samples`);
}

/** Index of the largest value (the first one on ties). */
export function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++)
    if ((values[i] ?? -Infinity) > (values[best] ?? -Infinity)) best = i;
  return best;
}

/** Share of samples whose predicted class equals the true class. */
export function accuracy(yTrue: readonly number[], yPred: readonly number[]): number {
  requireSameLength(yTrue, yPred, 'accuracy');
  let hits = 0;
  yTrue.forEach((label, i) => {
    if (label === yPred[i]) hits++;
  });
  return hits / yTrue.length;
}

/** counts[true][predicted] over `numClasses` classes. */
export function confusionMatrix(
  yTrue: readonly number[],
  yPred: readonly number[],
  numClasses: number,
): number[][] {
  requireSameLength(yTrue, yPred, 'confusionMatrix');
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  yTrue.forEach((label, i) => {
    const predicted = yPred[i] ?? -1;
    const row = matrix[label];
    if (row === undefined || predicted < 0 || predicted >= numClasses) {
      throw new RangeError(
        `confusionMatrix: class out of range at sample ${i} (true ${label}, predicted ${predicted})`,
      );
    }
    row[predicted] = (row[predicted] ?? 0) + 1;
  });
  return matrix;
}

/**
 * Unweighted mean of per-class F1 over the classes that occur in the labels or the predictions
 * (a class absent from both says nothing about the model and is skipped).
 */
export function macroF1(yTrue: readonly number[], yPred: readonly number[], numClasses: number): number {
  const matrix = confusionMatrix(yTrue, yPred, numClasses);
  let sum = 0;
  let classes = 0;
  for (let c = 0; c < numClasses; c++) {
    const truePositives = matrix[c]?.[c] ?? 0;
    const actual = (matrix[c] ?? []).reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + (row[c] ?? 0), 0);
    if (actual === 0 && predicted === 0) continue;
    classes++;
    sum += (2 * truePositives) / (actual + predicted);
  }
  return classes === 0 ? 0 : sum / classes;
}

/** Mean negative log-likelihood of the true class; probabilities are clipped to [eps, 1 - eps]. */
export function logLoss(
  yTrue: readonly number[],
  probabilities: readonly ArrayLike<number>[],
  eps = 1e-7,
): number {
  requireSameLength(yTrue, probabilities, 'logLoss');
  let total = 0;
  yTrue.forEach((label, i) => {
    const p = probabilities[i]?.[label];
    if (p === undefined) throw new RangeError(`logLoss: no probability for class ${label} at sample ${i}`);
    total -= Math.log(Math.min(Math.max(p, eps), 1 - eps));
  });
  return total / yTrue.length;
}

export function meanSquaredError(yTrue: readonly number[], yPred: readonly number[]): number {
  requireSameLength(yTrue, yPred, 'meanSquaredError');
  let total = 0;
  yTrue.forEach((y, i) => {
    const d = y - (yPred[i] ?? NaN);
    total += d * d;
  });
  return total / yTrue.length;
}

export function rmse(yTrue: readonly number[], yPred: readonly number[]): number {
  return Math.sqrt(meanSquaredError(yTrue, yPred));
}

export function mae(yTrue: readonly number[], yPred: readonly number[]): number {
  requireSameLength(yTrue, yPred, 'mae');
  let total = 0;
  yTrue.forEach((y, i) => {
    total += Math.abs(y - (yPred[i] ?? NaN));
  });
  return total / yTrue.length;
}

/** Model outputs gathered over a data set: class probabilities (classification) or values (regression). */
export type Predictions =
  | { task: 'classification'; labels: number[]; probabilities: Float32Array[] }
  | { task: 'regression'; targets: number[]; values: number[] };

/** Scores predictions with one of the spec's objective metrics. */
export function scoreMetric(metric: Metric, predictions: Predictions): number {
  if (predictions.task === 'classification') {
    const numClasses = predictions.probabilities[0]?.length ?? 0;
    const predicted = predictions.probabilities.map((p) => argMax(p));
    switch (metric) {
      case 'accuracy':
        return accuracy(predictions.labels, predicted);
      case 'macro-f1':
        return macroF1(predictions.labels, predicted, numClasses);
      case 'log-loss':
        return logLoss(predictions.labels, predictions.probabilities);
      case 'rmse':
      case 'mae':
        throw new RangeError(`${metric} scores regression models, not classifiers`);
    }
  }
  switch (metric) {
    case 'rmse':
      return rmse(predictions.targets, predictions.values);
    case 'mae':
      return mae(predictions.targets, predictions.values);
    case 'accuracy':
    case 'macro-f1':
    case 'log-loss':
      throw new RangeError(`${metric} scores classifiers, not regression models`);
  }
}

/** Every metric that fits the predictions' task, as a validator reports them alongside its score. */
export type MetricReport =
  | {
      task: 'classification';
      accuracy: number;
      macroF1: number;
      logLoss: number;
      confusionMatrix: number[][];
      samples: number;
    }
  | { task: 'regression'; rmse: number; mae: number; samples: number };

export function metricReport(predictions: Predictions): MetricReport {
  if (predictions.task === 'regression') {
    return {
      task: 'regression',
      rmse: rmse(predictions.targets, predictions.values),
      mae: mae(predictions.targets, predictions.values),
      samples: predictions.targets.length,
    };
  }
  const numClasses = predictions.probabilities[0]?.length ?? 0;
  const predicted = predictions.probabilities.map((p) => argMax(p));
  return {
    task: 'classification',
    accuracy: accuracy(predictions.labels, predicted),
    macroF1: macroF1(predictions.labels, predicted, numClasses),
    logLoss: logLoss(predictions.labels, predictions.probabilities),
    confusionMatrix: confusionMatrix(predictions.labels, predicted, numClasses),
    samples: predictions.labels.length,
  };
}
