/**
 * Parameter count of a Sequential layers topology, inferred from its config alone, so an oversized
 * declared model is refused before TensorFlow.js allocates its weights (a 65,536-unit Dense layer on a
 * wide input passes `checkTopology`'s per-layer bounds yet needs gigabytes). Returns undefined where the
 * shapes cannot be followed (functional models, channels-first data); the count after building is then
 * the only check.
 */

type Shape = number[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pair(value: unknown, fallback: number): [number, number] | undefined {
  if (value === undefined || value === null) return [fallback, fallback];
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
    return [value[0] as number, value[1] as number];
  }
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'number') return [value[0], value[0]];
  return undefined;
}

function windowed(length: number, size: number, stride: number, dilation: number, padding: unknown): number {
  if (padding === 'same') return Math.ceil(length / stride);
  return Math.floor((length - ((size - 1) * dilation + 1)) / stride) + 1;
}

interface Step {
  shape: Shape | undefined;
  parameters: number;
}

function spatial(
  config: Record<string, unknown>,
  shape: Shape,
  dims: 1 | 2,
  sizeKey: string,
): Shape | undefined {
  const size = pair(config[sizeKey], 1);
  const strides = pair(config.strides, sizeKey === 'pool_size' ? (size?.[0] ?? 1) : 1);
  const dilation = pair(config.dilation_rate, 1);
  if (size === undefined || strides === undefined || dilation === undefined) return undefined;
  const out = shape.slice();
  for (let i = 0; i < dims; i++) {
    out[i] = windowed(shape[i] ?? 0, size[i] ?? 1, strides[i] ?? 1, dilation[i] ?? 1, config.padding);
  }
  return out;
}

function step(className: string, config: Record<string, unknown>, shape: Shape): Step {
  const last = shape.at(-1) ?? 0;
  const bias = config.use_bias === false ? 0 : 1;
  const num = (key: string, fallback = 0): number =>
    typeof config[key] === 'number' ? config[key] : fallback;
  const rank = shape.length;
  switch (className) {
    case 'Dense': {
      const units = num('units');
      return { shape: [...shape.slice(0, -1), units], parameters: (last + bias) * units };
    }
    case 'Conv1D':
    case 'Conv2D': {
      const dims = className === 'Conv1D' ? 1 : 2;
      if (rank !== dims + 1) return { shape: undefined, parameters: 0 };
      const filters = num('filters');
      const kernel = pair(config.kernel_size, 1);
      const out = spatial(config, shape, dims, 'kernel_size');
      const area = kernel === undefined ? 0 : dims === 1 ? kernel[0] : kernel[0] * kernel[1];
      if (out === undefined) return { shape: undefined, parameters: 0 };
      out[dims] = filters;
      return { shape: out, parameters: area * last * filters + bias * filters };
    }
    case 'SeparableConv2D':
    case 'DepthwiseConv2D': {
      if (rank !== 3) return { shape: undefined, parameters: 0 };
      const kernel = pair(config.kernel_size, 1);
      const out = spatial(config, shape, 2, 'kernel_size');
      if (kernel === undefined || out === undefined) return { shape: undefined, parameters: 0 };
      const multiplier = num('depth_multiplier', 1);
      const depthwise = kernel[0] * kernel[1] * last * multiplier;
      if (className === 'DepthwiseConv2D') {
        out[2] = last * multiplier;
        return { shape: out, parameters: depthwise + bias * last * multiplier };
      }
      const filters = num('filters');
      out[2] = filters;
      return { shape: out, parameters: depthwise + last * multiplier * filters + bias * filters };
    }
    case 'MaxPooling1D':
    case 'AveragePooling1D':
      return { shape: rank === 2 ? spatial(config, shape, 1, 'pool_size') : undefined, parameters: 0 };
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return { shape: rank === 3 ? spatial(config, shape, 2, 'pool_size') : undefined, parameters: 0 };
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D':
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return { shape: [last], parameters: 0 };
    case 'Flatten':
      return { shape: [shape.reduce((a, b) => a * b, 1)], parameters: 0 };
    case 'Reshape': {
      const target = config.target_shape;
      if (!Array.isArray(target) || !target.every((d) => typeof d === 'number'))
        return { shape: undefined, parameters: 0 };
      const size = shape.reduce((a, b) => a * b, 1);
      const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      return { shape: target.map((d) => (d === -1 ? size / known : d)), parameters: 0 };
    }
    case 'ZeroPadding2D': {
      const padding = config.padding;
      const rows =
        Array.isArray(padding) && Array.isArray(padding[0]) ? pair(padding[0], 0) : pair(padding, 1);
      const cols = Array.isArray(padding) && Array.isArray(padding[1]) ? pair(padding[1], 0) : rows;
      if (rank !== 3 || rows === undefined || cols === undefined) return { shape: undefined, parameters: 0 };
      const [h = 0, w = 0] = shape;
      const vertical = Array.isArray(padding) && Array.isArray(padding[0]) ? rows[0] + rows[1] : 2 * rows[0];
      const horizontal =
        Array.isArray(padding) && Array.isArray(padding[1]) ? cols[0] + cols[1] : 2 * cols[1];
      return { shape: [h + vertical, w + horizontal, last], parameters: 0 };
    }
    case 'BatchNormalization':
      return { shape, parameters: 4 * last };
    case 'LayerNormalization':
      return { shape, parameters: 2 * last };
    case 'Embedding': {
      const outputDim = num('output_dim');
      return { shape: [...shape, outputDim], parameters: num('input_dim') * outputDim };
    }
    default:
      // Activations, dropout, noise and InputLayer keep the shape and have no weights.
      return { shape, parameters: 0 };
  }
}

/** Parameters of a Sequential topology whose samples are shaped `inputShape`, or undefined if unknown. */
export function estimateParameters(topology: Record<string, unknown>, inputShape: Shape): number | undefined {
  const root = isRecord(topology.model_config) ? topology.model_config : topology;
  if (root.class_name !== 'Sequential') return undefined;
  const config = root.config;
  const layers = Array.isArray(config) ? config : isRecord(config) ? config.layers : undefined;
  if (!Array.isArray(layers)) return undefined;
  let shape: Shape | undefined = inputShape.slice();
  let total = 0;
  for (const layer of layers) {
    if (!isRecord(layer) || typeof layer.class_name !== 'string' || shape === undefined) return undefined;
    const layerConfig = isRecord(layer.config) ? layer.config : {};
    if (layerConfig.data_format === 'channels_first') return undefined;
    const next: Step = step(layer.class_name, layerConfig, shape);
    shape = next.shape;
    total += next.parameters;
    if (shape?.some((d) => !Number.isFinite(d) || d < 1)) return undefined;
  }
  return total;
}
