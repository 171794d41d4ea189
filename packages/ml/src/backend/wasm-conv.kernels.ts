import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Convolution gradients for the wasm backend. `@tensorflow/tfjs-backend-wasm` 4.22 has no
 * `Conv2DBackpropFilter` (so no CNN trains on it) and its `Conv2DBackpropInput` is a scalar loop.
 * Both are rewritten as one large matrix product (im2col / col2im in JS around the backend's own
 * XNNPACK `BatchMatMul`), which is where nearly all the arithmetic goes. That kernel is fast only
 * without its transpose flags (measured: 8 ms vs 105 ms for [7744x288]x[288x64]), so the small
 * operands are transposed in JS first and every product runs untransposed.
 */

type TensorInfo = tf.TensorInfo;
type ConvInfo = tf.backend_util.Conv2DInfo;

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

interface Conv2DBackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

function matMul(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo {
  const kernel = findWasmKernel('BatchMatMul');
  if (kernel === undefined) throw new Error('the wasm backend has no BatchMatMul kernel');
  return kernel.kernelFunc({
    inputs: { a, b },
    backend,
    attrs: { transposeA, transposeB },
  }) as TensorInfo;
}

/** Writes the transpose of `src` ([rows, cols]) into `dst` ([cols, rows]), in cache-friendly tiles. */
function transpose2d(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(r0 + tile, rows);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(c0 + tile, cols);
      for (let r = r0; r < r1; r++) {
        const rowBase = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[rowBase + c] ?? 0;
      }
    }
  }
}

function heapFloats(backend: BackendWasm, info: TensorInfo): Float32Array {
  // Views must be taken after the last allocation: a growing wasm heap detaches older views.
  return backend.typedArrayFromHeap(info) as Float32Array;
}

function requireNhwc(dataFormat: string, kernel: string): void {
  if (dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports channels-last (NHWC) data only, got ${dataFormat}`);
  }
}

/** Fills `cols` ([N*OH*OW, KH*KW*C], row-major) with the input patches each output pixel sees. */
function im2col(x: Float32Array, cols: Float32Array, info: ConvInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rowLength = filterHeight * filterWidth * inChannels;
  const segment = filterWidth * inChannels;
  let dst = 0;
  for (let n = 0; n < batchSize; n++) {
    const xBatch = n * inHeight * inWidth * inChannels;
    for (let oh = 0; oh < outHeight; oh++) {
      const ihBase = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iwBase = ow * strideWidth - left;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = ihBase + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) {
            cols.fill(0, dst, dst + segment);
            dst += segment;
            continue;
          }
          const xRow = xBatch + ih * inWidth * inChannels;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = iwBase + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) {
              for (let c = 0; c < inChannels; c++) cols[dst++] = 0;
              continue;
            }
            let src = xRow + iw * inChannels;
            for (let c = 0; c < inChannels; c++) cols[dst++] = x[src++] ?? 0;
          }
        }
      }
    }
  }
  if (dst !== batchSize * outHeight * outWidth * rowLength) throw new Error('im2col size mismatch');
}

/** Adds every patch gradient in `cols` back onto the input pixels it came from (the transpose of im2col). */
function col2im(cols: Float32Array, dx: Float32Array, info: ConvInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const segment = filterWidth * inChannels;
  dx.fill(0);
  let src = 0;
  for (let n = 0; n < batchSize; n++) {
    const xBatch = n * inHeight * inWidth * inChannels;
    for (let oh = 0; oh < outHeight; oh++) {
      const ihBase = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iwBase = ow * strideWidth - left;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = ihBase + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) {
            src += segment;
            continue;
          }
          const xRow = xBatch + ih * inWidth * inChannels;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = iwBase + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) {
              src += inChannels;
              continue;
            }
            let dst = xRow + iw * inChannels;
            for (let c = 0; c < inChannels; c++, dst++) dx[dst] = (dx[dst] ?? 0) + (cols[src++] ?? 0);
          }
        }
      }
    }
  }
}

function conv2DBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  requireNhwc(attrs.dataFormat, 'Conv2DBackpropFilter');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const outChannels = info.outChannels;
  // dW^T [outChannels, patch] = dy^T [outChannels, rows] x cols [rows, patch]; dy^T is the cheap one to build.
  const cols = backend.makeOutput([1, rows, patch], 'float32');
  const dyT = backend.makeOutput([1, outChannels, rows], 'float32');
  im2col(heapFloats(backend, x), heapFloats(backend, cols), info);
  transpose2d(heapFloats(backend, dy), heapFloats(backend, dyT), rows, outChannels);
  const dwT = matMul(backend, dyT, cols, false, false);
  backend.disposeData(cols.dataId);
  backend.disposeData(dyT.dataId);
  const dw = backend.makeOutput([...attrs.filterShape], 'float32');
  transpose2d(heapFloats(backend, dwT), heapFloats(backend, dw), outChannels, patch);
  backend.disposeData(dwT.dataId);
  return dw;
}

function conv2DBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  requireNhwc(attrs.dataFormat, 'Conv2DBackpropInput');
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  // Patch gradients [rows, patch] = dy [rows, outChannels] x W^T, W seen as [patch, outChannels].
  const wT = backend.makeOutput([1, info.outChannels, patch], 'float32');
  transpose2d(heapFloats(backend, filter), heapFloats(backend, wT), patch, info.outChannels);
  const dy3d: TensorInfo = { dataId: dy.dataId, shape: [1, rows, info.outChannels], dtype: dy.dtype };
  const cols = matMul(backend, dy3d, wT, false, false);
  backend.disposeData(wT.dataId);
  const dx = backend.makeOutput([...attrs.inputShape], 'float32');
  col2im(heapFloats(backend, cols), heapFloats(backend, dx), info);
  backend.disposeData(cols.dataId);
  return dx;
}

let registered = false;

/** The wasm backend's kernel of that name; `tf.getKernel` is typed as never missing, but can be. */
export function findWasmKernel(kernelName: string): tf.KernelConfig | undefined {
  return tf.getKernelsForBackend('wasm').find((k) => k.kernelName === kernelName);
}

/** Registers the convolution gradient kernels on the wasm backend (idempotent). */
export function registerWasmConvKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernelFunc] of [
    ['Conv2DBackpropFilter', conv2DBackpropFilter],
    ['Conv2DBackpropInput', conv2DBackpropInput],
  ] as const) {
    if (findWasmKernel(kernelName) !== undefined) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}
