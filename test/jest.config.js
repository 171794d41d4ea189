// The fast suites (access matrix, bad inputs, properties); the long fault suites run through
// jest.faults.config.js so `npm test` stays within its time budget.
const preset = require('../jest.preset.js');

module.exports = {
  ...preset,
  testPathIgnorePatterns: [...preset.testPathIgnorePatterns, '<rootDir>/faults/'],
};
