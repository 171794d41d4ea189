import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The portal shares the job spec schema with the server by compiling @decenter/core from source: it only
// depends on zod, so it is browser-safe and needs no prior `tsc -b`.
const coreSource = fileURLToPath(new URL('../packages/core/src/index.ts', import.meta.url));
// Vitest resolves packages for Node; the upload tests must run tus-js-client's browser build (XHR,
// FileReader, localStorage fingerprints), which is what Vite bundles for the portal.
const tusBrowserBuild = join(
  dirname(createRequire(import.meta.url).resolve('tus-js-client/package.json')),
  'lib.esm/browser/index.js',
);
const gateway = process.env.DECENTER_GATEWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { '@decenter/core': coreSource },
  },
  server: {
    host: '127.0.0.1',
    // The gateway sets an HttpOnly session cookie: proxying keeps the portal and the API on one origin.
    proxy: { '/api': { target: gateway, changeOrigin: false } },
  },
  preview: { host: '127.0.0.1' },
  build: { sourcemap: true },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.spec.{ts,tsx}'],
    testTimeout: 20_000,
    alias: { 'tus-js-client': tusBrowserBuild },
    restoreMocks: true,
  },
});
