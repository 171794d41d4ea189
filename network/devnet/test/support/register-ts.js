'use strict';
// Lets a child process run the devnet's TypeScript entry point directly (node -r this-file main.ts), so
// the integration tests exercise main.ts without a prior build. Transpile only, like the jest preset:
// `tsc -b` checks the types once for the whole repository.
const ts = require('typescript');
const fs = require('node:fs');

require.extensions['.ts'] = function compileTs(module, filename) {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    },
  });
  module._compile(outputText, filename);
};
