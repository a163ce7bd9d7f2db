/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
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
    // load-tests/lib holds plain ES modules that k6 loads as they are; jest needs them as CommonJS.
    '^.+/load-tests/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // Quiet output: Nest logs off unless TEST_LOGS=1 (test/support/quiet-logs.ts).
  setupFiles: ['<rootDir>/test/support/quiet-logs.ts'],
  testTimeout: 30000,
  // Suites that share the local Redis use their own key prefixes, so they may run in parallel.
  maxWorkers: 2,
};
