import { z } from 'zod';

import { checkTopology } from './topology';

/** Metrics a job can optimize, and the direction each one is better in. */
export const METRICS = ['accuracy', 'macro-f1', 'log-loss', 'rmse', 'mae'] as const;
export type Metric = (typeof METRICS)[number];
export const METRIC_DIRECTION: Readonly<Record<Metric, 'maximize' | 'minimize'>> = {
  accuracy: 'maximize',
  'macro-f1': 'maximize',
  'log-loss': 'minimize',
  rmse: 'minimize',
  mae: 'minimize',
};
const CLASSIFICATION_METRICS: readonly Metric[] = ['accuracy', 'macro-f1', 'log-loss'];
const REGRESSION_METRICS: readonly Metric[] = ['rmse', 'mae'];

export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop', 'adagrad'] as const;
export const DATA_FORMATS = ['csv', 'idx', 'image-zip'] as const;
export const TEMPLATES = ['mlp', 'cnn'] as const;
export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'elu', 'selu'] as const;

const LIMITS = { maxTrials: 256, maxEpochs: 1_000, maxBatchSize: 65_536, maxSeeds: 64 } as const;

const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(120, 'must be at most 120 characters')
  // Printable text only: names end up in file names, logs and certificates.
  .regex(/^[^\p{Cc}\p{Cs}]+$/u, 'must not contain control characters');

const identifier = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[^\p{Cc}\p{Cs},"]+$/u, 'must not contain control characters, commas or quotes');

const isoDate = z.iso.datetime({
  offset: true,
  message: 'expected an ISO 8601 date-time such as 2026-12-01T12:00:00Z',
});

const mlpOptions = z.strictObject({
  hiddenUnits: z.array(z.int().min(1).max(4096)).min(1).max(16).default([64, 32]),
  activation: z.enum(ACTIVATIONS).default('relu'),
  dropout: z.number().min(0).max(0.9).default(0),
});

const cnnOptions = z.strictObject({
  filters: z.array(z.int().min(1).max(512)).min(1).max(8).default([32, 64]),
  kernelSize: z.int().min(1).max(11).default(3),
  denseUnits: z.int().min(1).max(4096).default(128),
  dropout: z.number().min(0).max(0.9).default(0.25),
  batchNorm: z.boolean().default(false),
});

const pretrained = z.strictObject({
  /** Upload id (or object key) of the pre-trained `model.json` + weights, set by the gateway. */
  source: identifier,
  /** Names of layers whose weights stay fixed while fine-tuning. */
  freeze: z.array(identifier).max(256).default([]),
});

const templateModel = z.discriminatedUnion('template', [
  z.strictObject({
    kind: z.literal('template'),
    template: z.literal('mlp'),
    options: mlpOptions.default(mlpOptions.parse({})),
    pretrained: pretrained.optional(),
  }),
  z.strictObject({
    kind: z.literal('template'),
    template: z.literal('cnn'),
    options: cnnOptions.default(cnnOptions.parse({})),
    pretrained: pretrained.optional(),
  }),
]);

const topologyModel = z.strictObject({
  kind: z.literal('topology'),
  /** A TensorFlow.js layers topology (`modelTopology` of a model.json). */
  topology: z.record(z.string(), z.unknown()).superRefine((topology, ctx) => {
    for (const issue of checkTopology(topology, '')) {
      ctx.addIssue({
        code: 'custom',
        message: issue.message,
        path: issue.path === '' ? [] : [issue.path.replace(/^\./, '')],
      });
    }
  }),
  pretrained: pretrained.optional(),
});

const split = z
  .strictObject({
    train: z.number().gt(0).lt(1),
    validation: z.number().gt(0).lt(1),
    holdout: z.number().gt(0).lt(1),
  })
  .refine((s) => Math.abs(s.train + s.validation + s.holdout - 1) < 1e-9, {
    message: 'train + validation + holdout must add up to 1',
  });

const data = z.strictObject({
  format: z.enum(DATA_FORMATS),
  /** Feature columns (CSV); all columns but the label when omitted. */
  features: z.array(identifier).min(1).max(10_000).optional(),
  /** Label column (CSV); ignored for IDX and image archives, whose labels are implicit. */
  label: identifier.optional(),
  /** Columns (CSV) to treat as categorical even if they look numeric. */
  categorical: z.array(identifier).max(10_000).default([]),
  categoricalEncoding: z.enum(['one-hot', 'index']).default('one-hot'),
  /** Side length images are resized to (image archives). */
  imageSize: z.int().min(4).max(512).optional(),
  split: split.default({ train: 0.7, validation: 0.15, holdout: 0.15 }),
  /** Seed of the train / validation / holdout split. */
  splitSeed: z
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(42),
});

const range = z
  .strictObject({
    min: z.number().gt(0),
    max: z.number().gt(0),
    scale: z.enum(['linear', 'log']).default('log'),
  })
  .refine((r) => r.min <= r.max, { message: 'min must not exceed max' });

const search = z
  .strictObject({
    strategy: z.enum(['grid', 'random']).default('grid'),
    /** Number of trials to sample (random search only). */
    trials: z.int().min(1).max(LIMITS.maxTrials).optional(),
    learningRate: z.union([z.array(z.number().gt(0).max(10)).min(1).max(32), range]).default([0.001]),
    batchSize: z.array(z.int().min(1).max(LIMITS.maxBatchSize)).min(1).max(16).default([32]),
    epochs: z.array(z.int().min(1).max(LIMITS.maxEpochs)).min(1).max(16).default([10]),
    optimizer: z.array(z.enum(OPTIMIZERS)).min(1).max(OPTIMIZERS.length).default(['adam']),
    seeds: z
      .array(
        z
          .int()
          .min(0)
          .max(2 ** 31 - 1),
      )
      .min(1)
      .max(LIMITS.maxSeeds)
      .default([1]),
    /** Seed of the random search's own sampling. */
    searchSeed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(7),
  })
  .superRefine((s, ctx) => {
    if (s.strategy === 'random' && s.trials === undefined) {
      ctx.addIssue({ code: 'custom', path: ['trials'], message: 'random search needs a trial count' });
    }
    if (s.strategy === 'grid' && !Array.isArray(s.learningRate)) {
      ctx.addIssue({
        code: 'custom',
        path: ['learningRate'],
        message: 'grid search needs a list of learning rates, not a range',
      });
    }
  });

const objective = z.strictObject({
  metric: z.enum(METRICS),
  direction: z.enum(['maximize', 'minimize']).optional(),
  /** A later candidate must beat the best by at least this much to win. */
  minImprovement: z.number().min(0).max(1e6).default(0),
});

const earlyStopping = z.strictObject({
  patience: z.int().min(1).max(1_000).default(3),
  minDelta: z.number().min(0).default(0),
});

const schedule = z.strictObject({
  /** Trials are not claimed before this time. */
  startAt: isoDate.optional(),
  /** After this, unclaimed trials are abandoned and validation starts with what was committed. */
  trainingDeadline: isoDate,
  /** After this, a job without a quorum of validators fails. */
  validationDeadline: isoDate,
});

const validation = z.strictObject({
  /** Number of validator orgs that must agree; a majority of the consortium's validator orgs when omitted. */
  quorum: z.int().min(1).max(64).optional(),
  /** Largest difference between two validator orgs' scores of one candidate that still counts as agreement. */
  tolerance: z.number().min(0).max(1).default(0.01),
  /** Share of candidates whose training a validator replays for one epoch. */
  replayShare: z.number().min(0).max(1).default(0.5),
});

export const jobSpecSchema = z
  .strictObject({
    name,
    description: z.string().max(4_000).optional(),
    task: z.enum(['classification', 'regression']),
    model: z.discriminatedUnion('kind', [templateModel, topologyModel]),
    data,
    search: search.default(search.parse({})),
    objective,
    earlyStopping: earlyStopping.optional(),
    schedule,
    validation: validation.default(validation.parse({})),
  })
  .superRefine((spec, ctx) => {
    const allowed = spec.task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
    if (!allowed.includes(spec.objective.metric)) {
      ctx.addIssue({
        code: 'custom',
        path: ['objective', 'metric'],
        message: `"${spec.objective.metric}" does not fit a ${spec.task} task; use one of ${allowed.join(', ')}`,
      });
    }
    const natural = METRIC_DIRECTION[spec.objective.metric];
    if (spec.objective.direction !== undefined && spec.objective.direction !== natural) {
      ctx.addIssue({
        code: 'custom',
        path: ['objective', 'direction'],
        message: `${spec.objective.metric} is better when higher/lower as "${natural}"; remove direction or set it to "${natural}"`,
      });
    }
    if (spec.data.format === 'csv' && spec.data.label === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['data', 'label'],
        message: 'CSV data needs the name of its label column',
      });
    }
    if (spec.model.kind === 'template' && spec.model.template === 'cnn' && spec.data.format === 'csv') {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'template'],
        message: 'the cnn template needs image data (idx or image-zip)',
      });
    }
    const start = spec.schedule.startAt === undefined ? undefined : Date.parse(spec.schedule.startAt);
    const training = Date.parse(spec.schedule.trainingDeadline);
    const validationDeadline = Date.parse(spec.schedule.validationDeadline);
    if (start !== undefined && training <= start) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule', 'trainingDeadline'],
        message: 'must be after startAt',
      });
    }
    if (validationDeadline <= training) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule', 'validationDeadline'],
        message: 'must be after trainingDeadline',
      });
    }
  });

/** A job spec as written by a user (defaults not yet applied). */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
/** A validated job spec with every default applied. */
export type JobSpec = z.output<typeof jobSpecSchema>;
export type ModelSpec = JobSpec['model'];
export type DataSpec = JobSpec['data'];
export type SearchSpec = JobSpec['search'];
export type ObjectiveSpec = JobSpec['objective'];
export type Optimizer = (typeof OPTIMIZERS)[number];
export type DataFormat = (typeof DATA_FORMATS)[number];
export type Task = JobSpec['task'];
