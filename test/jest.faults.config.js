// The long fault suites only: `npm run test:faults`.
const preset = require('../jest.preset.js');

module.exports = {
  ...preset,
  roots: ['<rootDir>/faults'],
};
