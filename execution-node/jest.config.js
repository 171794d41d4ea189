const preset = require('../jest.preset.js');

// Fault tests (test/faults) take minutes: `npm run test:faults` runs them, `npm test` does not.
module.exports = { ...preset, testPathIgnorePatterns: [...preset.testPathIgnorePatterns, '/test/faults/'] };
