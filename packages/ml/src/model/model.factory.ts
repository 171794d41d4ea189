import {
  ALLOWED_LAYER_CLASSES,
  checkTopology,
  isAllowedLayerClass,
  seededRandom,
  TOPOLOGY_LIMITS,
  type ModelSpec,
  type Task,
} from '@decenter/core';
import * as tf from '@tensorflow/tfjs';

import { ModelSpecError } from '../ml.errors';
import { estimateParameters } from './parameter.estimate';

export interface ModelShape {
  /** Shape of one sample, without the batch axis: [features] for tables, [height, width, channels] for images. */
  inputShape: number[];
  task: Task;
  /** Number of classes (classification). */
  numClasses?: number;
  /** Number of regression targets; 1 when omitted. */
  outputUnits?: number;
  /** Seed of every weight initializer (the trial's seed). */
  seed: number;
  /** Parameter limit; TOPOLOGY_LIMITS.maxParameters unless a node sets a lower one for its machine. */
  maxParameters?: number;
}

type MlpOptions = Extract<ModelSpec, { template: 'mlp' }>['options'];
type CnnOptions = Extract<ModelSpec, { template: 'cnn' }>['options'];

/** Loss the model trains with, from the task alone (never from user input). */
export function lossForTask(task: Task): 'categoricalCrossentropy' | 'meanSquaredError' {
  return task === 'classification' ? 'categoricalCrossentropy' : 'meanSquaredError';
}

function outputUnits(shape: ModelShape): number {
  if (shape.task === 'classification') {
    const n = shape.numClasses;
    if (n === undefined || !Number.isInteger(n) || n < 2) {
      throw new ModelSpecError(`a classification model needs numClasses >= 2, got ${String(n)}`);
    }
    return n;
  }
  const n = shape.outputUnits ?? 1;
  if (!Number.isInteger(n) || n < 1)
    throw new ModelSpecError(`outputUnits must be a positive integer, got ${n}`);
  return n;
}

/** Derives the seed of one initializer from the trial seed and a stable label, so layers differ yet repeat. */
export function deriveSeed(seed: number, ...parts: (number | string)[]): number {
  let h = seed >>> 0;
  for (const part of parts) {
    const text = String(part);
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.floor(seededRandom(h)() * 2 ** 31);
  }
  return h;
}

function checkShape(shape: ModelShape): void {
  if (shape.inputShape.length === 0 || !shape.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ModelSpecError(`inputShape must be positive integers, got [${shape.inputShape.join(', ')}]`);
  }
  if (!Number.isInteger(shape.seed) || shape.seed < 0) {
    throw new ModelSpecError(`seed must be a non-negative integer, got ${shape.seed}`);
  }
}

function seeded(seed: number, layer: string) {
  return {
    kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, layer, 'kernel') }),
    biasInitializer: tf.initializers.zeros(),
  };
}

function outputLayer(shape: ModelShape): tf.layers.Layer {
  return tf.layers.dense({
    name: 'output',
    units: outputUnits(shape),
    activation: shape.task === 'classification' ? 'softmax' : 'linear',
    ...seeded(shape.seed, 'output'),
  });
}

function buildMlp(options: MlpOptions, shape: ModelShape): tf.Sequential {
  const model = tf.sequential({ name: 'mlp' });
  const flat = shape.inputShape.length === 1;
  if (!flat) model.add(tf.layers.flatten({ name: 'flatten', inputShape: shape.inputShape }));
  options.hiddenUnits.forEach((units, i) => {
    const name = `hidden_${i + 1}`;
    model.add(
      tf.layers.dense({
        name,
        units,
        activation: options.activation,
        ...(flat && i === 0 ? { inputShape: shape.inputShape } : {}),
        ...seeded(shape.seed, name),
      }),
    );
    if (options.dropout > 0)
      model.add(tf.layers.dropout({ name: `dropout_${i + 1}`, rate: options.dropout }));
  });
  model.add(outputLayer(shape));
  return model;
}

function buildCnn(options: CnnOptions, shape: ModelShape): tf.Sequential {
  if (shape.inputShape.length !== 3) {
    throw new ModelSpecError(
      `the cnn template needs images shaped [height, width, channels], got [${shape.inputShape.join(', ')}]`,
    );
  }
  let [height = 0, width = 0] = shape.inputShape;
  const model = tf.sequential({ name: 'cnn' });
  options.filters.forEach((filters, i) => {
    // Valid convolutions then 2x2 pooling: the usual small CNN, and the same model the PyTorch bench builds.
    height = Math.floor((height - options.kernelSize + 1) / 2);
    width = Math.floor((width - options.kernelSize + 1) / 2);
    if (height < 1 || width < 1) {
      throw new ModelSpecError(
        `a ${shape.inputShape.join('x')} image is too small for ${options.filters.length} conv blocks of kernel ${options.kernelSize}`,
        { hint: 'Use fewer filters entries, a smaller kernelSize or larger images.' },
      );
    }
    const name = `conv_${i + 1}`;
    model.add(
      tf.layers.conv2d({
        name,
        filters,
        kernelSize: options.kernelSize,
        activation: options.batchNorm ? 'linear' : 'relu',
        ...(i === 0 ? { inputShape: shape.inputShape } : {}),
        ...seeded(shape.seed, name),
      }),
    );
    if (options.batchNorm) {
      model.add(tf.layers.batchNormalization({ name: `bn_${i + 1}` }));
      model.add(tf.layers.activation({ name: `relu_${i + 1}`, activation: 'relu' }));
    }
    model.add(tf.layers.maxPooling2d({ name: `pool_${i + 1}`, poolSize: 2 }));
  });
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(
    tf.layers.dense({
      name: 'dense',
      units: options.denseUnits,
      activation: 'relu',
      ...seeded(shape.seed, 'dense'),
    }),
  );
  if (options.dropout > 0) model.add(tf.layers.dropout({ name: 'dropout', rate: options.dropout }));
  model.add(outputLayer(shape));
  return model;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function layersOf(topology: Record<string, unknown>): Record<string, unknown>[] {
  const root = isRecord(topology.model_config) ? topology.model_config : topology;
  const config = root.config;
  const layers = Array.isArray(config) ? config : isRecord(config) ? config.layers : undefined;
  return Array.isArray(layers) ? layers.filter(isRecord) : [];
}

const GLOROT = 'GlorotUniform';
/** Random initializers a layer class uses when its config names none (the rest default to constants). */
const DEFAULT_INITIALIZERS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  Dense: [['kernel_initializer', GLOROT]],
  Conv1D: [['kernel_initializer', GLOROT]],
  Conv2D: [['kernel_initializer', GLOROT]],
  DepthwiseConv2D: [['depthwise_initializer', GLOROT]],
  SeparableConv2D: [
    ['depthwise_initializer', GLOROT],
    ['pointwise_initializer', GLOROT],
  ],
  Embedding: [['embeddings_initializer', 'RandomUniform']],
};

/**
 * Refuses a topology unless `checkTopology` passes and every layer class is allowlisted, then gives
 * every initializer a seed derived from the trial seed (user topologies rarely carry one).
 */
export function prepareTopology(topology: unknown, seed: number): Record<string, unknown> {
  const issues = checkTopology(topology, 'model.topology');
  if (issues.length > 0 || !isRecord(topology)) {
    throw new ModelSpecError(
      `the model topology is refused:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
    );
  }
  // A JSON round trip (not structuredClone): topologies are JSON, and tfjs tests `instanceof Array`,
  // which arrays cloned in another realm (Jest's sandbox) fail.
  const copy = JSON.parse(JSON.stringify(topology)) as Record<string, unknown>;
  // Like unnamed layers below, an unnamed model would get a process-wide counter in its name.
  const root = isRecord(copy.model_config) ? copy.model_config : copy;
  if (isRecord(root.config) && (typeof root.config.name !== 'string' || root.config.name === '')) {
    root.config.name = 'model';
  }
  layersOf(copy).forEach((layer, index) => {
    const className = String(layer.class_name);
    if (!isAllowedLayerClass(className)) {
      throw new ModelSpecError(`layer ${index} has class "${className}", which is not allowed`, {
        hint: `Allowed layer classes: ${ALLOWED_LAYER_CLASSES.join(', ')}.`,
      });
    }
    const config = isRecord(layer.config) ? layer.config : {};
    layer.config = config;
    // tfjs would name an unnamed layer from a process-wide counter, so model.json (and its hash) would
    // depend on what the process built before.
    if (typeof config.name !== 'string' || config.name === '') config.name = `layer_${index}`;
    // Initializers left to their defaults are random too: write them out so they can carry a seed.
    for (const [key, initializer] of DEFAULT_INITIALIZERS[className] ?? []) {
      if (config[key] === undefined || config[key] === null)
        config[key] = { class_name: initializer, config: {} };
    }
    for (const [key, value] of Object.entries(config)) {
      if (key.endsWith('_initializer') && isRecord(value) && isRecord(value.config)) {
        value.config.seed = deriveSeed(
          seed,
          typeof config.name === 'string' ? config.name : String(index),
          key,
        );
      }
    }
  });
  return copy;
}

function checkBuilt(model: tf.LayersModel, shape: ModelShape): void {
  const parameters = model.countParams();
  const limit = Math.min(shape.maxParameters ?? Infinity, TOPOLOGY_LIMITS.maxParameters);
  if (parameters > limit) {
    model.dispose();
    throw new ModelSpecError(`the model has ${parameters} parameters; at most ${limit} are allowed`, {
      hint: 'Use fewer or smaller layers.',
    });
  }
  const input = model.inputs[0]?.shape.slice(1) ?? [];
  const output = model.outputs[0]?.shape.slice(1) ?? [];
  const expectedOut = outputUnits(shape);
  const problems: string[] = [];
  if (model.inputs.length !== 1 || input.join('x') !== shape.inputShape.join('x')) {
    problems.push(
      `takes input [${input.join(', ')}] but the data has samples shaped [${shape.inputShape.join(', ')}]`,
    );
  }
  if (model.outputs.length !== 1 || output.length !== 1 || output[0] !== expectedOut) {
    problems.push(`outputs [${output.join(', ')}] but the ${shape.task} task needs [${expectedOut}]`);
  }
  if (problems.length > 0) {
    model.dispose();
    throw new ModelSpecError(`the model does not fit the data: it ${problems.join(' and ')}`);
  }
}

/**
 * Parameters a template will have, computed before any weight is allocated so an oversized template is
 * refused without first trying to allocate it.
 */
export function templateParameters(
  spec: Extract<ModelSpec, { kind: 'template' }>,
  shape: ModelShape,
): number {
  const out = outputUnits(shape);
  if (spec.template === 'mlp') {
    let inputs = shape.inputShape.reduce((a, b) => a * b, 1);
    let total = 0;
    for (const units of spec.options.hiddenUnits) {
      total += (inputs + 1) * units;
      inputs = units;
    }
    return total + (inputs + 1) * out;
  }
  const { filters, kernelSize, denseUnits, batchNorm } = spec.options;
  let [height = 0, width = 0, channels = 0] = shape.inputShape;
  let total = 0;
  for (const f of filters) {
    total += (kernelSize * kernelSize * channels + 1) * f + (batchNorm ? 4 * f : 0);
    height = Math.floor((height - kernelSize + 1) / 2);
    width = Math.floor((width - kernelSize + 1) / 2);
    channels = f;
  }
  return (
    total + (Math.max(height, 0) * Math.max(width, 0) * channels + 1) * denseUnits + (denseUnits + 1) * out
  );
}

/**
 * Builds an untrained model from the spec's model section: the `mlp` / `cnn` templates, or a declared
 * layers topology (deserialized only after every check passed). Weights are seeded from `shape.seed`.
 */
export async function createModel(spec: ModelSpec, shape: ModelShape): Promise<tf.LayersModel> {
  checkShape(shape);
  let model: tf.LayersModel;
  if (spec.kind === 'template') {
    const planned = templateParameters(spec, shape);
    const limit = Math.min(shape.maxParameters ?? Infinity, TOPOLOGY_LIMITS.maxParameters);
    if (planned > limit) {
      throw new ModelSpecError(
        `the ${spec.template} template would have ${planned} parameters; at most ${limit} are allowed`,
        {
          hint: 'Use fewer or smaller layers.',
        },
      );
    }
    model = spec.template === 'mlp' ? buildMlp(spec.options, shape) : buildCnn(spec.options, shape);
  } else {
    const topology = prepareTopology(spec.topology, shape.seed);
    const planned = estimateParameters(topology, shape.inputShape);
    const limit = Math.min(shape.maxParameters ?? Infinity, TOPOLOGY_LIMITS.maxParameters);
    if (planned !== undefined && planned > limit) {
      throw new ModelSpecError(
        `the model topology would have ${planned} parameters; at most ${limit} are allowed`,
        {
          hint: 'Use fewer or smaller layers.',
        },
      );
    }
    try {
      // The checks above are what make this cast safe: tfjs types topologies as its own JSON shape.
      model = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
    } catch (cause) {
      throw new ModelSpecError(
        `the model topology could not be built: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
  }
  checkBuilt(model, shape);
  return model;
}

/** Marks the named layers as not trainable (fine-tuning); every name must exist in the model. */
export function freezeLayers(model: tf.LayersModel, names: readonly string[]): void {
  const known = new Set(model.layers.map((l) => l.name));
  const missing = names.filter((n) => !known.has(n));
  if (missing.length > 0) {
    throw new ModelSpecError(`cannot freeze unknown layer(s) ${missing.map((n) => `"${n}"`).join(', ')}`, {
      hint: `The pre-trained model has layers ${[...known].join(', ')}.`,
    });
  }
  for (const layer of model.layers) if (names.includes(layer.name)) layer.trainable = false;
}

/** Checks a built model (e.g. a loaded pre-trained one) against the data's shape and the parameter limit. */
export function checkModelFits(model: tf.LayersModel, shape: Omit<ModelShape, 'seed'>): void {
  checkBuilt(model, { ...shape, seed: 0 });
}
