// Runs the broker's TypeScript sources in a plain `node` child process, compiled by @swc/core with the
// same options as jest (jest.config.js). tsx cannot do this: esbuild emits no decorator metadata, which
// Nest's dependency injection needs. Usage: node -r ./test/observability/support/swc-register.js src/main.ts
'use strict';
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
