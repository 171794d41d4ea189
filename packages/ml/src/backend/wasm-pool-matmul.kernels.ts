import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { findWasmKernel } from './wasm-conv.kernels';

/**
 * Two more training kernels for the wasm backend: a `BatchMatMul` that transposes its operands in JS
 * before calling the original XNNPACK kernel (whose transpose flags take a slow path, about 12x slower:
 * every Dense layer's gradient uses them), and a `MaxPoolGrad` that scatters each gradient to the
 * window's first maximum in one pass (the built-in one rescans every window per input pixel).
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
  let gi = 0;
  for (let n = 0; n < batchSize; n++) {
    const xBatch = n * inHeight * inWidth * inChannels;
    for (let oh = 0; oh < outHeight; oh++) {
      const hStart = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const wStart = ow * strideWidth - left;
        for (let c = 0; c < inChannels; c++) {
          // Same tie rule as the cpu backend: the first strictly greater value in row-major order wins.
          let best = Number.NEGATIVE_INFINITY;
          let bestIndex = -1;
          for (let kh = 0; kh < filterHeight; kh++) {
            const ih = hStart + kh * dilationHeight;
            if (ih < 0 || ih >= inHeight) continue;
            for (let kw = 0; kw < filterWidth; kw++) {
              const iw = wStart + kw * dilationWidth;
              if (iw < 0 || iw >= inWidth) continue;
              const index = xBatch + (ih * inWidth + iw) * inChannels + c;
              const value = x[index] ?? Number.NEGATIVE_INFINITY;
              if (value > best || bestIndex < 0) {
                best = value;
                bestIndex = index;
              }
            }
          }
          const grad = g[gi++] ?? 0;
          if (bestIndex >= 0) out[bestIndex] = (out[bestIndex] ?? 0) + grad;
        }
      }
    }
  }
  return dx;
}

let registered = false;

/** Replaces `BatchMatMul` and `MaxPoolGrad` on the wasm backend (idempotent). */
export function registerWasmPoolMatMulKernels(): void {
  if (registered) return;
  const matMul = findWasmKernel('BatchMatMul');
  if (matMul === undefined) throw new Error('the wasm backend has no BatchMatMul kernel to wrap');
  registered = true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...matMul, kernelFunc: transposingBatchMatMul(matMul.kernelFunc) });
  if (findWasmKernel('MaxPoolGrad') !== undefined) tf.unregisterKernel('MaxPoolGrad', 'wasm');
  tf.registerKernel({
    kernelName: 'MaxPoolGrad',
    backendName: 'wasm',
    kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
  });
}
