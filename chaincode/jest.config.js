// ts-jest compiles with chaincode/tsconfig.json, so decorator metadata (which fabric-contract-api
// reads to build the contract metadata) is emitted exactly as in the build. It has no native
// binaries, which keeps `npm ci` in chaincode/ working on every platform.
module.exports = {
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: ['<rootDir>/src'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  setupFiles: ['<rootDir>/src/testing/quiet-logs.ts'],
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.spec.ts', '!src/**/*.d.ts', '!src/testing/**'],
  coverageReporters: ['text-summary', 'text'],
  coverageThreshold: { global: { lines: 90 } },
};
