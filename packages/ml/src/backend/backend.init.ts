import path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import { BackendError } from '../ml.errors';
import { registerWasmConvKernels } from './wasm-conv.kernels';
import { registerWasmDepthwiseKernels } from './wasm-depthwise.kernels';
import { registerWasmPoolMatMulKernels } from './wasm-pool-matmul.kernels';

/** Backend names as recorded with each candidate (the native ones are named after their npm package). */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  name: BackendName;
  /** The wasm build in use: SIMD when the runtime supports it (Node does), threads never under Node. */
  wasmSimd?: boolean;
  wasmThreads?: boolean;
}

let current: BackendInfo | undefined;

/**
 * Loads a package that may be absent (optional dependencies whose native install fails). The name is a
 * literal from this file, never user input, so nothing uploaded reaches `require`.
 */
function tryRequire(name: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(name);
    return true;
  } catch {
    return false;
  }
}

async function tryBackend(name: BackendName): Promise<BackendInfo | undefined> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      // Both packages register their backend as "tensorflow"; only the package tells GPU from CPU.
      const loaded = tryRequire(
        name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node',
      );
      if (!loaded || !(await setBackendSafely('tensorflow'))) return undefined;
      return { name };
    }
    case 'wasm': {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      // The .wasm binaries ship in the package's dist folder; point the loader there instead of a CDN.
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      setWasmPaths(`${dist}${path.sep}`);
      registerWasmConvKernels();
      registerWasmPoolMatMulKernels();
      registerWasmDepthwiseKernels();
      if (!(await setBackendSafely('wasm'))) return undefined;
      return { name, wasmSimd: simd === true, wasmThreads: threads === true };
    }
    case 'cpu':
      return (await setBackendSafely('cpu')) ? { name } : undefined;
  }
}

async function setBackendSafely(name: string): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok;
  } catch {
    return false;
  }
}

/**
 * Selects the fastest TensorFlow.js backend available: the native GPU and CPU bindings when installed,
 * then WebAssembly (with the project's training kernels), then the pure-JS `cpu` backend. A `preferred`
 * backend is tried first; the first that starts wins. Returns the name recorded with the candidate.
 */
export async function initBackend(preferred?: BackendName): Promise<BackendInfo> {
  if (preferred !== undefined && !BACKEND_NAMES.includes(preferred)) {
    throw new BackendError(`unknown backend "${preferred}"`, {
      hint: `Use one of ${BACKEND_NAMES.join(', ')}.`,
    });
  }
  const order =
    preferred === undefined ? BACKEND_NAMES : [preferred, ...BACKEND_NAMES.filter((n) => n !== preferred)];
  for (const name of order) {
    const info = await tryBackend(name);
    if (info !== undefined) {
      current = info;
      return info;
    }
  }
  throw new BackendError('no TensorFlow.js backend could be started', {
    hint: 'Reinstall @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm (npm ci).',
  });
}

/** The backend chosen by the last `initBackend`, or undefined before it ran. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
