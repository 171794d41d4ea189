import {
  ACTIVATIONS,
  jobSpecSchema,
  zodIssues,
  type DataFormat,
  type JobSpec,
  type Metric,
  type Optimizer,
  type ValidationIssue,
} from '@decenter/core';
import { z } from 'zod';

/**
 * The spec form's fields as the user edits them (strings, as inputs hold them), and their translation into
 * a job spec checked by the very schema the gateway uses. Lists are typed comma-separated.
 */
export interface SpecFields {
  name: string;
  description: string;
  task: 'classification' | 'regression';
  modelKind: 'template' | 'topology';
  template: 'mlp' | 'cnn';
  hiddenUnits: string;
  activation: (typeof ACTIVATIONS)[number];
  dropout: string;
  filters: string;
  kernelSize: string;
  denseUnits: string;
  batchNorm: boolean;
  topology: string;
  format: DataFormat;
  label: string;
  features: string;
  imageSize: string;
  /** train, validation, holdout fractions, comma-separated: used when the gateway splits the data. */
  split: string;
  splitSeed: string;
  metric: Metric;
  strategy: 'grid' | 'random';
  trials: string;
  learningRates: string;
  batchSizes: string;
  epochs: string;
  optimizers: Optimizer[];
  seeds: string;
  trainingDeadline: string;
  validationDeadline: string;
  quorum: string;
}

export const EXAMPLE_TOPOLOGY = JSON.stringify(
  {
    class_name: 'Sequential',
    config: {
      name: 'custom',
      layers: [
        { class_name: 'Dense', config: { units: 32, activation: 'relu', batch_input_shape: [null, 4] } },
        { class_name: 'Dropout', config: { rate: 0.1 } },
        { class_name: 'Dense', config: { units: 3, activation: 'softmax' } },
      ],
    },
  },
  null,
  2,
);

/** `datetime-local` value (local time, minutes) `hours` from `now`. */
export function localDateTime(now: Date, hours: number): string {
  const date = new Date(now.getTime() + hours * 3_600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function defaultSpecFields(now: Date = new Date()): SpecFields {
  return {
    name: '',
    description: '',
    task: 'classification',
    modelKind: 'template',
    template: 'mlp',
    hiddenUnits: '64, 32',
    activation: 'relu',
    dropout: '0',
    filters: '32, 64',
    kernelSize: '3',
    denseUnits: '128',
    batchNorm: false,
    topology: EXAMPLE_TOPOLOGY,
    format: 'csv',
    label: '',
    features: '',
    imageSize: '',
    split: '0.7, 0.15, 0.15',
    splitSeed: '42',
    metric: 'accuracy',
    strategy: 'grid',
    trials: '',
    learningRates: '0.001',
    batchSizes: '32',
    epochs: '10',
    optimizers: ['adam'],
    seeds: '1',
    trainingDeadline: localDateTime(now, 24),
    validationDeadline: localDateTime(now, 48),
    quorum: '',
  };
}

/** A number where the text is one, else the text itself so the schema reports "expected number". */
function numeric(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function numberList(text: string): (number | string)[] {
  return list(text).map((part) => numeric(part) ?? part);
}

function isoOrRaw(local: string): string | undefined {
  if (local.trim() === '') return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

export interface TopologyParse {
  value?: unknown;
  error?: string;
}

export function parseTopology(text: string): TopologyParse {
  if (text.trim() === '') return { error: 'paste or write a TensorFlow.js layers topology (JSON)' };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { error: `not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function buildModel(fields: SpecFields): unknown {
  if (fields.modelKind === 'topology') {
    return { kind: 'topology', topology: parseTopology(fields.topology).value ?? {} };
  }
  if (fields.template === 'mlp') {
    return {
      kind: 'template',
      template: 'mlp',
      options: {
        hiddenUnits: numberList(fields.hiddenUnits),
        activation: fields.activation,
        dropout: numeric(fields.dropout) ?? 0,
      },
    };
  }
  return {
    kind: 'template',
    template: 'cnn',
    options: {
      filters: numberList(fields.filters),
      kernelSize: numeric(fields.kernelSize),
      denseUnits: numeric(fields.denseUnits),
      dropout: numeric(fields.dropout) ?? 0,
      batchNorm: fields.batchNorm,
    },
  };
}

/** `0.7, 0.15, 0.15` as the schema's split; fewer or more than three parts is left for it to refuse. */
function buildSplit(text: string): unknown {
  const parts = numberList(text);
  if (parts.length !== 3) return parts;
  const [train, validation, holdout] = parts;
  return { train, validation, holdout };
}

/** The spec as the user wrote it (no defaults applied), ready for the schema. */
export function buildSpecInput(fields: SpecFields): Record<string, unknown> {
  const features = list(fields.features);
  const splitSeed = numeric(fields.splitSeed);
  const quorum = numeric(fields.quorum);
  const trials = numeric(fields.trials);
  const imageSize = numeric(fields.imageSize);
  return {
    name: fields.name,
    ...(fields.description.trim() === '' ? {} : { description: fields.description }),
    task: fields.task,
    model: buildModel(fields),
    data: {
      format: fields.format,
      ...(fields.format === 'csv' && fields.label.trim() !== '' ? { label: fields.label.trim() } : {}),
      ...(fields.format === 'csv' && features.length > 0 ? { features } : {}),
      ...(fields.format !== 'csv' && imageSize !== undefined ? { imageSize } : {}),
      ...(fields.split.trim() === '' ? {} : { split: buildSplit(fields.split) }),
      ...(splitSeed === undefined ? {} : { splitSeed }),
    },
    search: {
      strategy: fields.strategy,
      ...(fields.strategy === 'random' && trials !== undefined ? { trials } : {}),
      learningRate: numberList(fields.learningRates),
      batchSize: numberList(fields.batchSizes),
      epochs: numberList(fields.epochs),
      optimizer: fields.optimizers,
      seeds: numberList(fields.seeds),
    },
    objective: { metric: fields.metric },
    schedule: {
      trainingDeadline: isoOrRaw(fields.trainingDeadline),
      validationDeadline: isoOrRaw(fields.validationDeadline),
    },
    ...(quorum === undefined ? {} : { validation: { quorum } }),
  };
}

/** Zod's generic wording, reworded for a form. */
function friendly(issue: ValidationIssue): ValidationIssue {
  if (/received undefined/.test(issue.message)) return { ...issue, message: 'required' };
  if (/expected number, received string/.test(issue.message))
    return { ...issue, message: 'must be a number' };
  if (/expected int, received number/.test(issue.message))
    return { ...issue, message: 'must be a whole number' };
  return issue;
}

/**
 * The model is a union (template | topology), and zod reports a failed union as one "Invalid input" on
 * `model`. The form knows which kind the user chose, so it shows that branch's own field-level issues.
 */
export function unwrapUnions(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
    const branches = issue.errors.filter(
      (branch) => !branch.some((inner) => inner.path.length === 1 && inner.path[0] === 'kind'),
    );
    const chosen = branches.length === 1 ? branches[0] : undefined;
    if (chosen === undefined) return [issue];
    return unwrapUnions(chosen.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })));
  });
}

export interface SpecValidation {
  spec?: JobSpec;
  issues: ValidationIssue[];
}

export function validateSpecFields(fields: SpecFields): SpecValidation {
  const issues: ValidationIssue[] = [];
  if (fields.modelKind === 'topology') {
    const parsed = parseTopology(fields.topology);
    if (parsed.error !== undefined) issues.push({ path: 'model.topology', message: parsed.error });
  }
  const result = jobSpecSchema.safeParse(buildSpecInput(fields));
  if (result.success && issues.length === 0) return { spec: result.data, issues: [] };
  if (!result.success) {
    const unwrapped = new z.ZodError(unwrapUnions(result.error.issues));
    issues.push(...zodIssues(unwrapped).map(friendly));
  }
  // One message per field: an empty name also fails the pattern, but "must not be empty" is what helps.
  const seen = new Set<string>();
  return {
    issues: issues.filter((issue) => {
      if (seen.has(issue.path)) return false;
      seen.add(issue.path);
      return true;
    }),
  };
}

/** Issues for one field: its own path and anything below it. */
export function issuesAt(issues: readonly ValidationIssue[], path: string): ValidationIssue[] {
  return issues.filter(
    (issue) => issue.path === path || issue.path.startsWith(`${path}.`) || issue.path.startsWith(`${path}[`),
  );
}
