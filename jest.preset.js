// Shared Jest settings: ts-jest transpiles (tsc -b checks types once for the whole repo), and
// workspace packages resolve to their TypeScript sources so tests never need a prior build.
// ts-jest, not @swc/jest: the registry here lacks most of @swc/core's platform packages, which
// leaves them out of the lockfile and makes `npm ci` refuse it.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.tsx?$': [
      'ts-jest',
      {
        tsconfig: path.join(__dirname, 'tsconfig.jest.json'),
        // tsconfig.jest.json sets isolatedModules, so ts-jest only transpiles: tsc -b checks types
        // once for the whole repo, which keeps test start-up fast.
        diagnostics: false,
      },
    ],
  },
  moduleNameMapper: {
    '^@decenter/(core|cli|ledger|storage|ml|data)$': path.join(__dirname, 'packages/$1/src'),
    '^@decenter/proto$': path.join(__dirname, 'proto/src'),
    '^@decenter/devnet$': path.join(__dirname, 'network/devnet/src'),
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};
