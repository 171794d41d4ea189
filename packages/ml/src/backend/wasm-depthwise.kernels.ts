import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { findWasmKernel } from './wasm-conv.kernels';

/**
 * Gradient kernels the wasm backend lacks for allowlisted layers: depthwise convolution (DepthwiseConv2D,
 * SeparableConv2D) and `UnsortedSegmentSum` (the gradient of the gather behind Embedding). Direct loops:
 * these layers are rare in the jobs this runs and their arithmetic is small next to a full convolution.
 */

type TensorInfo = tf.TensorInfo;
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Shape4 = [number, number, number, number];

function heap(backend: BackendWasm, info: TensorInfo): tf.backend_util.TypedArray {
  return backend.typedArrayFromHeap(info);
}

/** Calls `visit(xIndex, dyIndex, wIndex)` for every (input, output, filter) triple a depthwise conv multiplies. */
function forEachTap(
  info: tf.backend_util.Conv2DInfo,
  visit: (x: number, dy: number, w: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const multiplier = outChannels / inChannels;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = oh * strideHeight - top + fh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = ow * strideWidth - left + fw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (fh * filterWidth + fw) * inChannels * multiplier;
            for (let c = 0; c < inChannels; c++) {
              for (let m = 0; m < multiplier; m++) {
                visit(xBase + c, dyBase + c * multiplier + m, wBase + c * multiplier + m);
              }
            }
          }
        }
      }
    }
  }
}

function depthwiseInfo(
  xShape: Shape4,
  filterShape: Shape4,
  attrs: DepthwiseAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

function depthwiseBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: DepthwiseAttrs & { filterShape: Shape4 };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const info = depthwiseInfo(inputs.x.shape as Shape4, attrs.filterShape, attrs);
  const out = backend.makeOutput([...attrs.filterShape], 'float32');
  const x = heap(backend, inputs.x);
  const dy = heap(backend, inputs.dy);
  const dw = heap(backend, out);
  dw.fill(0);
  forEachTap(info, (xi, dyi, wi) => {
    dw[wi] = (dw[wi] ?? 0) + (x[xi] ?? 0) * (dy[dyi] ?? 0);
  });
  return out;
}

function depthwiseBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: DepthwiseAttrs & { inputShape: Shape4 };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const info = depthwiseInfo(attrs.inputShape, inputs.filter.shape as Shape4, attrs);
  const out = backend.makeOutput([...attrs.inputShape], 'float32');
  const w = heap(backend, inputs.filter);
  const dy = heap(backend, inputs.dy);
  const dx = heap(backend, out);
  dx.fill(0);
  forEachTap(info, (xi, dyi, wi) => {
    dx[xi] = (dx[xi] ?? 0) + (w[wi] ?? 0) * (dy[dyi] ?? 0);
  });
  return out;
}

function unsortedSegmentSum(args: {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  backend: BackendWasm;
  attrs: { numSegments: number };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, segmentIds } = inputs;
  const ids = tf.util.sizeFromShape(segmentIds.shape);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = tf.util.sizeFromShape(innerShape);
  const out = backend.makeOutput([attrs.numSegments, ...innerShape], x.dtype);
  const values = heap(backend, x);
  const segments = heap(backend, segmentIds);
  const sums = heap(backend, out);
  sums.fill(0);
  for (let i = 0; i < ids; i++) {
    const segment = segments[i] ?? -1;
    // Like TensorFlow, ids outside [0, numSegments) are dropped.
    if (segment < 0 || segment >= attrs.numSegments) continue;
    for (let j = 0; j < inner; j++) {
      const at = segment * inner + j;
      sums[at] = (sums[at] ?? 0) + (values[i * inner + j] ?? 0);
    }
  }
  return out;
}

let registered = false;

/** Registers the depthwise-convolution gradients and `UnsortedSegmentSum` on wasm (idempotent). */
export function registerWasmDepthwiseKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernelFunc] of [
    ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter],
    ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput],
    ['UnsortedSegmentSum', unsortedSegmentSum],
  ] as const) {
    // A later tfjs release may ship its own; keep it then.
    if (findWasmKernel(kernelName) !== undefined) continue;
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}
