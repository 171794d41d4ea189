import { defineConfig } from 'vitest/config';

// The browser tests: Node drives Chromium against a real stack, so no jsdom and long, bounded timeouts.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 120_000,
    hookTimeout: 420_000,
    fileParallelism: false,
  },
});
