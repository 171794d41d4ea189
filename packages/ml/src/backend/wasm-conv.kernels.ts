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

/** Patch sizes (KH*KW*C) up to this build the transposed patch matrix directly (measured on a 3x3x1 conv). */
const SMALL_PATCH = 32;

function requireNhwc(dataFormat: string, kernel: string): void {
  if (dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports channels-last (NHWC) data only, got ${dataFormat}`);
  }
}

/** A tensor's place in the wasm heap: the whole heap as floats, and the tensor's first index in it. */
interface HeapSlice {
  heap: Float32Array;
  at: number;
}

function heapSlice(backend: BackendWasm, info: TensorInfo): HeapSlice {
  const view = heapFloats(backend, info);
  return { heap: new Float32Array(view.buffer), at: view.byteOffset / 4 };
}

/**
 * Fills `cols` ([N*OH*OW, KH*KW*C], row-major) with the input patches each output pixel sees. Where a
 * filter row lies inside the image its KW*C values are contiguous in NHWC, so they are moved with one
 * `copyWithin` inside the wasm heap (a memmove) instead of an element loop.
 */
function im2col(x: HeapSlice, cols: HeapSlice, info: ConvInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const heap = x.heap;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const segment = filterWidth * inChannels;
  const contiguous = dilationWidth === 1;
  let dst = cols.at;
  for (let n = 0; n < batchSize; n++) {
    const xBatch = x.at + n * inHeight * inWidth * inChannels;
    for (let oh = 0; oh < outHeight; oh++) {
      const ihBase = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iwBase = ow * strideWidth - left;
        const inside = contiguous && iwBase >= 0 && iwBase + filterWidth <= inWidth;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = ihBase + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) {
            heap.fill(0, dst, dst + segment);
            dst += segment;
            continue;
          }
          const xRow = xBatch + ih * inWidth * inChannels;
          if (inside) {
            const src = xRow + iwBase * inChannels;
            heap.copyWithin(dst, src, src + segment);
            dst += segment;
            continue;
          }
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = iwBase + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) {
              heap.fill(0, dst, dst + inChannels);
            } else {
              const src = xRow + iw * inChannels;
              heap.copyWithin(dst, src, src + inChannels);
            }
            dst += inChannels;
          }
        }
      }
    }
  }
}

/**
 * The transpose of im2col, built directly: `colsT` is [KH*KW*C, N*OH*OW]. For few input channels (the
 * first layer) its rows are long runs read almost sequentially from the image, and dW = colsT x dy needs
 * no other transpose.
 */
function im2colTransposed(x: HeapSlice, colsT: HeapSlice, info: ConvInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const heap = x.heap;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let dst = colsT.at;
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      for (let c = 0; c < inChannels; c++) {
        for (let n = 0; n < batchSize; n++) {
          const xBatch = x.at + n * inHeight * inWidth * inChannels + c;
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * strideHeight - top + kh * dilationHeight;
            if (ih < 0 || ih >= inHeight) {
              heap.fill(0, dst, dst + outWidth);
              dst += outWidth;
              continue;
            }
            const xRow = xBatch + ih * inWidth * inChannels;
            for (let ow = 0; ow < outWidth; ow++) {
              const iw = ow * strideWidth - left + kw * dilationWidth;
              heap[dst++] = iw < 0 || iw >= inWidth ? 0 : (heap[xRow + iw * inChannels] ?? 0);
            }
          }
        }
      }
    }
  }
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

function runWasmKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown>,
): TensorInfo {
  const kernel = findWasmKernel(kernelName);
  if (kernel === undefined) throw new Error(`the wasm backend has no ${kernelName} kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
}

/**
 * For stride 1 and many input channels the filter gradient is itself a convolution: the input with
 * channels and batch swapped ([C, H, W, N]) convolved with dy as the filter ([OH, OW, N, OC]) gives
 * [C, KH, KW, OC]. XNNPACK's convolution reads patches through an indirection buffer instead of copying
 * them, measured about 1.5x faster here than im2col + matmul for a 3x3x32 -> 64 layer.
 */
function filterGradViaConv(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: ConvInfo,
): TensorInfo | undefined {
  const unit = (...values: number[]): boolean => values.every((v) => v === 1);
  if (!unit(info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth)) return undefined;
  const { top, left } = info.padInfo;
  const bottom = info.filterHeight + info.outHeight - 1 - info.inHeight - top;
  const right = info.filterWidth + info.outWidth - 1 - info.inWidth - left;
  if (bottom < 0 || right < 0) return undefined;
  const xT = runWasmKernel(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyT = runWasmKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const grad = runWasmKernel(
    backend,
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: 1,
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: 1,
    },
  );
  backend.disposeData(xT.dataId);
  backend.disposeData(dyT.dataId);
  const dw = runWasmKernel(backend, 'Transpose', { x: grad }, { perm: [1, 2, 0, 3] });
  backend.disposeData(grad.dataId);
  return dw;
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
  const dy2d: TensorInfo = { dataId: dy.dataId, shape: [1, rows, outChannels], dtype: dy.dtype };
  if (patch <= SMALL_PATCH) {
    // dW [patch, outChannels] = colsT [patch, rows] x dy [rows, outChannels]: already in filter layout.
    const colsT = backend.makeOutput([1, patch, rows], 'float32');
    im2colTransposed(heapSlice(backend, x), heapSlice(backend, colsT), info);
    const dw = matMul(backend, colsT, dy2d, false, false);
    backend.disposeData(colsT.dataId);
    return { dataId: dw.dataId, shape: [...attrs.filterShape], dtype: dw.dtype };
  }
  const viaConv = filterGradViaConv(backend, x, dy, info);
  if (viaConv !== undefined) return viaConv;
  // dW^T [outChannels, patch] = dy^T [outChannels, rows] x cols [rows, patch]: with many channels the
  // patch matrix is the big one, so it stays untransposed and dy (smaller) is transposed instead.
  const cols = backend.makeOutput([1, rows, patch], 'float32');
  const dyT = backend.makeOutput([1, outChannels, rows], 'float32');
  im2col(heapSlice(backend, x), heapSlice(backend, cols), info);
  transpose2d(heapFloats(backend, dy), heapFloats(backend, dyT), rows, outChannels);
  const dwT = matMul(backend, dyT, cols, false, false);
  backend.disposeData(cols.dataId);
  backend.disposeData(dyT.dataId);
  const dw = backend.makeOutput([...attrs.filterShape], 'float32');
  transpose2d(heapFloats(backend, dwT), heapFloats(backend, dw), outChannels, patch);
  backend.disposeData(dwT.dataId);
  return dw;
}

/**
 * For stride 1 the input gradient is the "full" convolution of dy with the filter turned 180 degrees and
 * its channel axes swapped; XNNPACK runs it faster than matmul + col2im (measured on 3x3x32 -> 64).
 */
function inputGradViaConv(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: ConvInfo,
): TensorInfo | undefined {
  const unit = (...values: number[]): boolean => values.every((v) => v === 1);
  if (!unit(info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth)) return undefined;
  // With few input channels the gradient convolution has few outputs, where XNNPACK is slower than matmul.
  if (info.inChannels < 8) return undefined;
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  const bottom = info.inHeight - info.outHeight + info.padInfo.top;
  const right = info.inWidth - info.outWidth + info.padInfo.left;
  if (Math.min(top, left, bottom, right) < 0) return undefined;
  const reversed = runWasmKernel(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const flipped = runWasmKernel(backend, 'Transpose', { x: reversed }, { perm: [0, 1, 3, 2] });
  backend.disposeData(reversed.dataId);
  const dx = runWasmKernel(
    backend,
    'Conv2D',
    { x: dy, filter: flipped },
    {
      strides: 1,
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: 1,
    },
  );
  backend.disposeData(flipped.dataId);
  return dx;
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
  const viaConv = inputGradViaConv(backend, dy, filter, info);
  if (viaConv !== undefined) return viaConv;
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
