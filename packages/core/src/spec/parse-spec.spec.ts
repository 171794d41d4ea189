import { SpecValidationError } from '../errors';
import { objectiveDirection, parseJobSpec } from './parse-spec';
import { planTrials } from './trials';

const base = {
  name: 'iris-mlp',
  task: 'classification',
  model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [16] } },
  data: { format: 'csv', label: 'species' },
  search: { learningRate: [0.01, 0.05], batchSize: [16], epochs: [20], optimizer: ['adam'], seeds: [1, 2] },
  objective: { metric: 'accuracy' },
  schedule: { trainingDeadline: '2026-12-01T00:00:00Z', validationDeadline: '2026-12-02T00:00:00Z' },
};

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseJobSpec(input);
  } catch (error) {
    if (error instanceof SpecValidationError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the spec to be refused');
}

describe('parseJobSpec', () => {
  it('accepts a minimal spec and applies defaults', () => {
    const spec = parseJobSpec(base);
    expect(spec.data.split).toEqual({ train: 0.7, validation: 0.15, holdout: 0.15 });
    expect(spec.data.categoricalEncoding).toBe('one-hot');
    expect(spec.validation).toEqual({ tolerance: 0.01, replayShare: 0.5 });
    expect(spec.objective.minImprovement).toBe(0);
    expect(spec.model).toMatchObject({
      template: 'mlp',
      options: { hiddenUnits: [16], activation: 'relu', dropout: 0 },
    });
    expect(objectiveDirection(spec)).toBe('maximize');
  });

  it('names the field and the expectation of every problem', () => {
    const issues = issuesOf({
      ...base,
      task: 'clustering',
      search: { ...base.search, batchSize: [0] },
      extra: true,
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'task', message: 'expected one of "classification", "regression"' },
        expect.objectContaining({
          path: 'search.batchSize[0]',
          message: expect.stringContaining('>=1') as string,
        }),
        { path: '', message: 'unknown field "extra"' },
      ]),
    );
  });

  it('refuses a metric that does not fit the task and a contradicting direction', () => {
    expect(issuesOf({ ...base, objective: { metric: 'rmse' } })).toEqual([
      expect.objectContaining({
        path: 'objective.metric',
        message: expect.stringContaining('accuracy, macro-f1, log-loss') as string,
      }),
    ]);
    expect(issuesOf({ ...base, objective: { metric: 'accuracy', direction: 'minimize' } })[0]?.path).toBe(
      'objective.direction',
    );
  });

  it('checks split ratios, deadlines and CSV labels', () => {
    expect(
      issuesOf({
        ...base,
        data: { format: 'csv', label: 'y', split: { train: 0.5, validation: 0.2, holdout: 0.2 } },
      })[0],
    ).toEqual({
      path: 'data.split',
      message: 'train + validation + holdout must add up to 1',
    });
    expect(
      issuesOf({
        ...base,
        schedule: { trainingDeadline: '2026-12-02T00:00:00Z', validationDeadline: '2026-12-01T00:00:00Z' },
      })[0]?.path,
    ).toBe('schedule.validationDeadline');
    expect(
      issuesOf({
        ...base,
        schedule: { trainingDeadline: 'tomorrow', validationDeadline: '2026-12-01T00:00:00Z' },
      })[0]?.message,
    ).toContain('ISO 8601');
    expect(issuesOf({ ...base, data: { format: 'csv' } })[0]?.path).toBe('data.label');
  });

  it('refuses Lambda and unknown layers in a custom topology, by layer index', () => {
    const topology = {
      class_name: 'Sequential',
      config: {
        name: 'm',
        layers: [
          { class_name: 'Dense', config: { units: 8, batch_input_shape: [null, 4] } },
          { class_name: 'Lambda', config: { function: 'lambda x: x' } },
          { class_name: 'MyCustomLayer', config: {} },
          { class_name: 'Dense', config: { units: 10_000_000 } },
        ],
      },
    };
    const issues = issuesOf({ ...base, model: { kind: 'topology', topology } });
    expect(issues.map((i) => i.path)).toEqual([
      'model.topology.config.layers[1].class_name',
      'model.topology.config.layers[2].class_name',
      'model.topology.config.layers[3].config.units',
    ]);
    expect(issues[0]?.message).toContain('Lambda layers carry code');
    expect(issues[1]?.message).toContain('unknown or disallowed');
  });

  it('names the field inside a model or learning-rate alternative, not just the union', () => {
    const mlp = (options: unknown) => ({ ...base, model: { kind: 'template', template: 'mlp', options } });
    expect(issuesOf(mlp({ hiddenUnits: [1.5] }))[0]?.path).toBe('model.options.hiddenUnits[0]');
    expect(issuesOf(mlp({ dropout: Number.POSITIVE_INFINITY }))[0]?.path).toBe('model.options.dropout');
    expect(issuesOf({ ...base, model: { kind: 'template', template: 'rnn' } })[0]?.path).toBe(
      'model.template',
    );
    expect(issuesOf({ ...base, model: { kind: 'topology', topology: 'x' } })[0]?.path).toBe('model.topology');
    expect(issuesOf({ ...base, search: { learningRate: [Number.NaN] } })[0]?.path).toBe(
      'search.learningRate[0]',
    );
    expect(issuesOf({ ...base, search: { learningRate: 'fast' } })[0]).toEqual({
      path: 'search.learningRate',
      message: 'expected a list or an object',
    });
  });

  it('refuses names with control characters and unbounded values', () => {
    expect(issuesOf({ ...base, name: 'a\u0000b' })[0]?.path).toBe('name');
    expect(issuesOf({ ...base, search: { ...base.search, epochs: [1e9] } })[0]?.path).toBe(
      'search.epochs[0]',
    );
  });
});

describe('planTrials', () => {
  it('expands a grid deterministically', () => {
    const trials = planTrials(parseJobSpec(base));
    expect(trials.map((t) => [t.trialId, t.hyperparameters.learningRate, t.seed])).toEqual([
      ['t000', 0.01, 1],
      ['t001', 0.01, 2],
      ['t002', 0.05, 1],
      ['t003', 0.05, 2],
    ]);
  });

  it('samples a random search reproducibly within its ranges', () => {
    const spec = parseJobSpec({
      ...base,
      search: {
        strategy: 'random',
        trials: 5,
        learningRate: { min: 0.0001, max: 0.1 },
        batchSize: [8, 64],
        seeds: [3],
      },
    });
    const first = planTrials(spec);
    expect(planTrials(spec)).toEqual(first);
    expect(first).toHaveLength(5);
    for (const trial of first) {
      expect(trial.hyperparameters.learningRate).toBeGreaterThanOrEqual(0.0001);
      expect(trial.hyperparameters.learningRate).toBeLessThanOrEqual(0.1);
      expect([8, 64]).toContain(trial.hyperparameters.batchSize);
    }
    expect(new Set(first.map((t) => t.hyperparameters.learningRate)).size).toBeGreaterThan(1);
  });

  it('refuses a grid over the trial limit', () => {
    const spec = parseJobSpec({
      ...base,
      search: {
        learningRate: [1, 2, 3, 4],
        batchSize: [1, 2, 3, 4],
        epochs: [1, 2, 3, 4],
        optimizer: ['adam', 'sgd'],
        seeds: [1, 2, 3],
      },
    });
    expect(() => planTrials(spec)).toThrow('the grid has 384 trials');
  });
});
