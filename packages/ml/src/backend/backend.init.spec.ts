import * as tf from '@tensorflow/tfjs';

import { BackendError } from '../ml.errors';
import { BACKEND_NAMES, currentBackend, initBackend, type BackendName } from './backend.init';

describe('initBackend', () => {
  it('starts wasm with SIMD and the training kernels when asked for it', async () => {
    const info = await initBackend('wasm');
    expect(info).toEqual({ name: 'wasm', wasmSimd: true, wasmThreads: false });
    expect(tf.getBackend()).toBe('wasm');
    expect(currentBackend()).toEqual(info);
    expect(tf.getKernelsForBackend('wasm').map((k) => k.kernelName)).toContain('Conv2DBackpropFilter');
  });

  it('falls back past native backends that are not installed and records what it got', async () => {
    const info = await initBackend('tensorflow');
    expect(BACKEND_NAMES).toContain(info.name);
    // The recorded name must describe the engine tfjs actually runs on.
    expect(tf.getBackend()).toBe(info.name.startsWith('tensorflow') ? 'tensorflow' : info.name);
    await initBackend('wasm');
  });

  it('refuses an unknown backend name', async () => {
    await expect(initBackend('webgpu' as BackendName)).rejects.toThrow(BackendError);
  });
});
