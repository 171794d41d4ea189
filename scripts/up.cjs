#!/usr/bin/env node
// `npm run up` on a fresh clone: installs the npm packages when they are missing or older than the
// lockfile, builds the CLI, then hands over to `decenter up` (which builds the rest and starts the
// stack). Plain CommonJS with no dependencies, because nothing is installed when it starts.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (command, args) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
const mtime = (file) => {
  try {
    return fs.statSync(path.join(root, file)).mtimeMs;
  } catch {
    return 0;
  }
};

// npm writes node_modules/.package-lock.json on every install; older than the lockfile means stale.
if (mtime('node_modules/.package-lock.json') < mtime('package-lock.json')) {
  console.log('decenter: installing npm packages (npm ci) ...');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}
run('npx', ['tsc', '-b', 'packages/cli']);
run(process.execPath, [path.join(root, 'packages/cli/bin/decenter.js'), 'up', ...process.argv.slice(2)]);
