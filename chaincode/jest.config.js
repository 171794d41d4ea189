// Reuses the repository's SWC transform (legacy decorators + decorator metadata, which
// fabric-contract-api reads to build the contract metadata) but resolves modules from chaincode/ only.
const preset = require('../jest.preset.js');

module.exports = {
  testEnvironment: preset.testEnvironment,
  transform: preset.transform,
  testPathIgnorePatterns: preset.testPathIgnorePatterns,
  rootDir: __dirname,
  roots: ['<rootDir>/src'],
  setupFiles: ['<rootDir>/src/testing/quiet-logs.ts'],
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.spec.ts', '!src/testing/**'],
  coverageReporters: ['text-summary', 'text'],
  coverageThreshold: { global: { lines: 90 } },
};
