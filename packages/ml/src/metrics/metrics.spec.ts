import { accuracy, confusionMatrix, logLoss, macroF1, mae, metricReport, rmse, scoreMetric } from './metrics';

describe('metrics on hand-computed cases', () => {
  const yTrue = [0, 0, 1, 1, 2, 2];
  const yPred = [0, 1, 1, 1, 2, 0];

  it('accuracy counts exact matches', () => {
    expect(accuracy(yTrue, yPred)).toBeCloseTo(4 / 6, 12);
  });

  it('confusion matrix is indexed [true][predicted]', () => {
    expect(confusionMatrix(yTrue, yPred, 3)).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
  });

  it('macro-F1 averages per-class F1', () => {
    // class 0: tp 1, actual 2, predicted 2 -> 0.5; class 1: tp 2, actual 2, predicted 3 -> 0.8;
    // class 2: tp 1, actual 2, predicted 1 -> 2/3.
    expect(macroF1(yTrue, yPred, 3)).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
  });

  it('macro-F1 skips classes absent from labels and predictions', () => {
    expect(macroF1([0, 1], [0, 1], 4)).toBe(1);
  });

  it('log-loss is the mean negative log probability of the true class', () => {
    const probabilities = [
      [0.8, 0.2],
      [0.4, 0.6],
    ];
    expect(logLoss([0, 1], probabilities)).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
    // A zero probability is clipped instead of giving Infinity.
    expect(Number.isFinite(logLoss([1], [[1, 0]]))).toBe(true);
  });

  it('RMSE and MAE on a small regression', () => {
    expect(rmse([1, 2, 3], [1, 4, 0])).toBeCloseTo(Math.sqrt((0 + 4 + 9) / 3), 12);
    expect(mae([1, 2, 3], [1, 4, 0])).toBeCloseTo(5 / 3, 12);
  });

  it('scoreMetric dispatches by metric and refuses a metric that does not fit the task', () => {
    const predictions = {
      task: 'classification' as const,
      labels: [0, 1],
      probabilities: [Float32Array.of(0.9, 0.1), Float32Array.of(0.7, 0.3)],
    };
    expect(scoreMetric('accuracy', predictions)).toBe(0.5);
    expect(() => scoreMetric('rmse', predictions)).toThrow(/regression/);
    expect(scoreMetric('mae', { task: 'regression', targets: [1, 3], values: [2, 3] })).toBe(0.5);
  });

  it('reports every metric of the task at once', () => {
    const report = metricReport({
      task: 'classification',
      labels: [0, 1, 1],
      probabilities: [Float32Array.of(0.75, 0.25), Float32Array.of(0.5, 0.5), Float32Array.of(0.25, 0.75)],
    });
    // Sample 2 ties at 0.5: argMax takes the first class, so it counts as a miss.
    expect(report).toEqual({
      task: 'classification',
      accuracy: 2 / 3,
      macroF1: (2 / 3 + 2 / 3) / 2,
      logLoss: expect.closeTo(-(Math.log(0.75) + Math.log(0.5) + Math.log(0.75)) / 3, 6) as number,
      confusionMatrix: [
        [1, 0],
        [1, 1],
      ],
      samples: 3,
    });
    expect(metricReport({ task: 'regression', targets: [0, 2], values: [1, 2] })).toEqual({
      task: 'regression',
      rmse: Math.sqrt(0.5),
      mae: 0.5,
      samples: 2,
    });
  });

  it('refuses mismatched lengths', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(RangeError);
  });
});
