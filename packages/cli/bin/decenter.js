#!/usr/bin/env node
'use strict';
// The `decenter` command. The CLI is TypeScript compiled to dist/; this shim only loads it.
const path = require('node:path');
const fs = require('node:fs');

const main = path.join(__dirname, '..', 'dist', 'src', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write(
    'decenter: the CLI is not built yet (' +
      main +
      ' is missing).\n' +
      'hint: run `npm run build` at the repository root, then try again.\n',
  );
  process.exitCode = 1;
} else {
  require(main);
}
