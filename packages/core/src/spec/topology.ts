import type { ValidationIssue } from '../errors';

/**
 * Layer classes a model may use. Everything here is declarative (shapes and numbers only); Keras `Lambda`
 * layers and custom classes carry code and are refused, as is any class not listed.
 */
export const ALLOWED_LAYER_CLASSES = [
  'InputLayer',
  'Dense',
  'Dropout',
  'Flatten',
  'Reshape',
  'Activation',
  'BatchNormalization',
  'LayerNormalization',
  'Conv1D',
  'Conv2D',
  'SeparableConv2D',
  'DepthwiseConv2D',
  'MaxPooling1D',
  'MaxPooling2D',
  'AveragePooling1D',
  'AveragePooling2D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'ZeroPadding2D',
  'Embedding',
  'LeakyReLU',
  'ReLU',
  'ELU',
  'Softmax',
  'GaussianNoise',
  'SpatialDropout1D',
  'SpatialDropout2D',
] as const;

export type AllowedLayerClass = (typeof ALLOWED_LAYER_CLASSES)[number];

const ALLOWED = new Set<string>(ALLOWED_LAYER_CLASSES);

/** Bounds that keep a declared model trainable on a member's machine. */
export const TOPOLOGY_LIMITS = {
  maxLayers: 256,
  maxUnits: 65_536,
  maxFilters: 4_096,
  maxKernelSize: 31,
  maxParameters: 50_000_000,
} as const;

export function isAllowedLayerClass(className: string): className is AllowedLayerClass {
  return ALLOWED.has(className);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * Structural checks of a TensorFlow.js layers topology (the `modelTopology` of a `model.json`, or its
 * `config`): only Sequential / functional models, only allowed layer classes, bounded sizes. Exact
 * parameter counts need shape inference and are checked by `@decenter/ml` when the model is built.
 */
export function checkTopology(topology: unknown, basePath = 'model.topology'): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const at = (suffix: string, message: string): void => {
    issues.push({ path: `${basePath}${suffix}`, message });
  };
  if (!isRecord(topology)) {
    at(
      '',
      'expected a TensorFlow.js layers topology object ({ "class_name": "Sequential", "config": {...} })',
    );
    return issues;
  }
  const root = isRecord(topology.model_config) ? topology.model_config : topology;
  const rootPath = root === topology ? '' : '.model_config';
  const className = root.class_name;
  if (className !== 'Sequential' && className !== 'Model' && className !== 'Functional') {
    at(
      `${rootPath}.class_name`,
      `expected "Sequential", "Model" or "Functional", got ${JSON.stringify(className ?? null)}`,
    );
    return issues;
  }
  const config = root.config;
  const layers = Array.isArray(config) ? config : isRecord(config) ? config.layers : undefined;
  const layersPath = Array.isArray(config) ? `${rootPath}.config` : `${rootPath}.config.layers`;
  if (!Array.isArray(layers) || layers.length === 0) {
    at(layersPath, 'expected a non-empty array of layers');
    return issues;
  }
  if (layers.length > TOPOLOGY_LIMITS.maxLayers) {
    at(layersPath, `has ${layers.length} layers; at most ${TOPOLOGY_LIMITS.maxLayers} are allowed`);
    return issues;
  }
  layers.forEach((layer: unknown, index) => {
    const path = `${layersPath}[${index}]`;
    if (!isRecord(layer) || typeof layer.class_name !== 'string') {
      at(path, 'expected a layer object with a string "class_name"');
      return;
    }
    if (!isAllowedLayerClass(layer.class_name)) {
      const why =
        layer.class_name === 'Lambda'
          ? 'Lambda layers carry code and are never accepted'
          : 'unknown or disallowed layer class';
      at(`${path}.class_name`, `"${layer.class_name}": ${why}; allowed: ${ALLOWED_LAYER_CLASSES.join(', ')}`);
      return;
    }
    const layerConfig = layer.config;
    if (layerConfig !== undefined && !isRecord(layerConfig)) {
      at(`${path}.config`, 'expected an object');
      return;
    }
    checkLayerSizes(layerConfig ?? {}, (suffix, message) => {
      at(`${path}.config${suffix}`, message);
    });
  });
  return issues;
}

function checkLayerSizes(
  config: Record<string, unknown>,
  at: (suffix: string, message: string) => void,
): void {
  const bounded = (key: string, max: number): void => {
    const value = config[key];
    if (value === undefined || value === null) return;
    const n = positiveInt(value);
    if (n === undefined) at(`.${key}`, `expected a positive integer, got ${JSON.stringify(value)}`);
    else if (n > max) at(`.${key}`, `${n} is over the limit of ${max}`);
  };
  bounded('units', TOPOLOGY_LIMITS.maxUnits);
  bounded('filters', TOPOLOGY_LIMITS.maxFilters);
  bounded('output_dim', TOPOLOGY_LIMITS.maxUnits);
  bounded('input_dim', 10_000_000);
  const kernel = config.kernel_size;
  if (kernel !== undefined) {
    const sizes = Array.isArray(kernel) ? kernel : [kernel];
    for (const size of sizes) {
      const n = positiveInt(size);
      if (n === undefined || n > TOPOLOGY_LIMITS.maxKernelSize) {
        at('.kernel_size', `expected positive integers up to ${TOPOLOGY_LIMITS.maxKernelSize}`);
        break;
      }
    }
  }
  const rate = config.rate;
  if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate < 1))) {
    at('.rate', 'expected a number in [0, 1)');
  }
}
