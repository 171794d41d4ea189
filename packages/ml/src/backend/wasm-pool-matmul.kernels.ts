import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { findWasmKernel } from './wasm-conv.kernels';

/**
 * More training kernels for the wasm backend: a `BatchMatMul` that transposes its operands in JS
 * before calling the original XNNPACK kernel (whose transpose flags take a slow path, about 12x slower:
 * every Dense layer's gradient uses them), and a `MaxPoolGrad` that scatters each gradient to the
 * window's first maximum in one pass (the built-in one rescans every window per input pixel), and a
 * `Sum` for bias gradients (see columnSum), and an `Identity` (and same-dtype `Cast`) that does not copy.
 */

type TensorInfo = tf.TensorInfo;

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function floats(backend: BackendWasm, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Transposes the last two axes of a float32 tensor ([..., rows, cols] -> [..., cols, rows]) into a new buffer. */
function transposeLast2(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const rows = x.shape[rank - 2] ?? 1;
  const cols = x.shape[rank - 1] ?? 1;
  const batch = tf.util.sizeFromShape(x.shape.slice(0, -2));
  const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], 'float32');
  const src = floats(backend, x);
  const dst = floats(backend, out);
  const tile = 32;
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols;
    for (let r0 = 0; r0 < rows; r0 += tile) {
      const r1 = Math.min(r0 + tile, rows);
      for (let c0 = 0; c0 < cols; c0 += tile) {
        const c1 = Math.min(c0 + tile, cols);
        for (let r = r0; r < r1; r++) {
          const rowBase = base + r * cols;
          for (let c = c0; c < c1; c++) dst[base + c * rows + r] = src[rowBase + c] ?? 0;
        }
      }
    }
  }
  return out;
}

function transposingBatchMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return original(args);
    }
    const a2 = transposeA ? transposeLast2(backend, a) : a;
    const b2 = transposeB ? transposeLast2(backend, b) : b;
    try {
      return original({ ...args, inputs: { a: a2, b: b2 }, attrs: { transposeA: false, transposeB: false } });
    } finally {
      if (a2 !== a) backend.disposeData(a2.dataId);
      if (b2 !== b) backend.disposeData(b2.dataId);
    }
  };
}

/**
 * The usual 2x2 / stride 2 pooling with every window inside the image, unrolled: four loads and three
 * comparisons per output value (the tie rule is the general path's: the first maximum in row-major order).
 */
function maxPoolGrad2x2(
  x: Float32Array,
  g: Float32Array,
  out: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const rowStride = inWidth * c;
  let gi = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const rowBase = (n * inHeight + 2 * oh) * rowStride;
      for (let ow = 0; ow < outWidth; ow++) {
        const a = rowBase + 2 * ow * c;
        const b = a + c;
        const d = a + rowStride;
        const e = d + c;
        for (let k = 0; k < c; k++, gi++) {
          let at = a + k;
          let best = x[at] as number;
          const vb = x[b + k] as number;
          if (vb > best) {
            best = vb;
            at = b + k;
          }
          const vd = x[d + k] as number;
          if (vd > best) {
            best = vd;
            at = d + k;
          }
          if ((x[e + k] as number) > best) at = e + k;
          out[at] = (out[at] as number) + (g[gi] as number);
        }
      }
    }
  }
}

function maxPoolGrad(args: {
  inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
  backend: BackendWasm;
  attrs: MaxPoolGradAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, input } = inputs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const dx = backend.makeOutput([...input.shape], 'float32');
  const x = floats(backend, input);
  const g = floats(backend, dy);
  const out = floats(backend, dx);
  out.fill(0);
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const twoByTwo =
    filterHeight === 2 &&
    filterWidth === 2 &&
    strideHeight === 2 &&
    strideWidth === 2 &&
    top === 0 &&
    left === 0 &&
    dilationHeight === 1 &&
    dilationWidth === 1 &&
    2 * outHeight <= inHeight &&
    2 * outWidth <= inWidth;
  if (twoByTwo) {
    maxPoolGrad2x2(x, g, out, info);
    return dx;
  }
  // Channels innermost: each window position is scanned as one contiguous run of C values.
  const best = new Float32Array(inChannels);
  const where = new Int32Array(inChannels);
  let gi = 0;
  for (let n = 0; n < batchSize; n++) {
    const xBatch = n * inHeight * inWidth * inChannels;
    for (let oh = 0; oh < outHeight; oh++) {
      const hStart = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const wStart = ow * strideWidth - left;
        where.fill(-1);
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = hStart + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = wStart + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const base = xBatch + (ih * inWidth + iw) * inChannels;
            for (let c = 0; c < inChannels; c++) {
              const value = x[base + c] as number;
              // Same tie rule as the cpu backend: the first strictly greater value in row-major order wins.
              if ((where[c] as number) < 0 || value > (best[c] as number)) {
                best[c] = value;
                where[c] = base + c;
              }
            }
          }
        }
        for (let c = 0; c < inChannels; c++, gi++) {
          const at = where[c] as number;
          if (at >= 0) out[at] = (out[at] as number) + (g[gi] as number);
        }
      }
    }
  }
  return dx;
}

/**
 * `Sum` over every axis but the last (the bias gradient of every Dense and Conv layer): one pass adding
 * rows into a C-long accumulator. The wasm kernel first transposes the whole tensor for this case.
 */
function columnSum(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || rank < 2 || !leading) return original(args);
    const columns = x.shape[rank - 1] ?? 1;
    const rows = tf.util.sizeFromShape(x.shape) / columns;
    const out = backend.makeOutput(
      keepDims ? [...x.shape.slice(0, -1).map(() => 1), columns] : [columns],
      'float32',
    );
    const src = floats(backend, x);
    // Accumulate in float64 like the reduction it replaces does in spirit: fewer rounding steps per column.
    const sums = new Float64Array(columns);
    for (let r = 0; r < rows; r++) {
      const base = r * columns;
      for (let c = 0; c < columns; c++) sums[c] = (sums[c] as number) + (src[base + c] as number);
    }
    floats(backend, out).set(sums);
    return out;
  };
}

/**
 * `Identity` that shares the input's buffer (reference-counted), as the cpu and webgl backends do; the
 * wasm one copies it. The engine clones every tensor it keeps for the backward pass, so this copied
 * each layer's activations once per training step.
 */
function sharedIdentity(args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/** `Cast` to the dtype a tensor already has shares it too (ReLU's gradient casts a float mask to float). */
function sharingCast(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if ((args.attrs as { dtype: string }).dtype !== x.dtype) return original(args);
    return sharedIdentity({ inputs: { x }, backend: args.backend as unknown as BackendWasm });
  };
}

let registered = false;

/** Replaces `BatchMatMul`, `Sum`, `Identity`, `Cast` and `MaxPoolGrad` on the wasm backend (idempotent). */
export function registerWasmPoolMatMulKernels(): void {
  if (registered) return;
  const matMul = findWasmKernel('BatchMatMul');
  if (matMul === undefined) throw new Error('the wasm backend has no BatchMatMul kernel to wrap');
  registered = true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...matMul, kernelFunc: transposingBatchMatMul(matMul.kernelFunc) });
  const sum = findWasmKernel('Sum');
  if (sum !== undefined) {
    tf.unregisterKernel('Sum', 'wasm');
    tf.registerKernel({ ...sum, kernelFunc: columnSum(sum.kernelFunc) });
  }
  const cast = findWasmKernel('Cast');
  if (cast !== undefined) {
    tf.unregisterKernel('Cast', 'wasm');
    tf.registerKernel({ ...cast, kernelFunc: sharingCast(cast.kernelFunc) });
  }
  if (findWasmKernel('Identity') !== undefined) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: sharedIdentity as unknown as tf.KernelFunc,
  });
  if (findWasmKernel('MaxPoolGrad') !== undefined) tf.unregisterKernel('MaxPoolGrad', 'wasm');
  tf.registerKernel({
    kernelName: 'MaxPoolGrad',
    backendName: 'wasm',
    kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
  });
}
