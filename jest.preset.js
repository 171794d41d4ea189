// Shared Jest settings: SWC strips types (tsc -b checks them once for the whole repo), and
// workspace packages resolve to their TypeScript sources so tests never need a prior build.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
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
