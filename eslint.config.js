// One linter (ESLint, typescript-eslint's recommended rules) beside one formatter (prettier).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const CLI_IMPORTS =
  'lib/cli uses the library through lib/index.ts and lib/inspect/index.ts (see eslint.config.js).';

export default tseslint.config(
  { ignores: ['build/', 'dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Node's globals, for the JavaScript files (TypeScript's own checks cover the .ts ones).
    languageOptions: {
      globals: Object.fromEntries(
        [
          'process',
          'Buffer',
          'console',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'setImmediate',
          'URL',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: {
      // `_` marks a deliberately unused binding (loop counters, ignored parameters).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The CLI is a client of the library: it opens stores through the public API and looks at
    // them on disk through the read-only inspection API, never through the catalog, storage,
    // format or read internals. The few other modules it may import are leaf helpers it shares
    // with the library's own option checks, so both give the same answer and the same words.
    files: ['lib/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../*',
                '!../index.js', // the public API
                '!../inspect/', // the read-only inspection API (../inspect/index.js)
                '!../errors.js', // LogStoreError and the translation of an errno error into one
                '!../options.js', // the "did you mean" suggestion for a misspelt name
                '!../mirror/', // the broker list syntax of --to/--from (../mirror/cluster.js)
                '!../kafka/', // the SASL mechanisms, the loopback check, the broker process's allocator
              ],
              message: CLI_IMPORTS,
            },
            {
              group: ['../inspect/*', '!../inspect/index.js', '../mirror/*', '!../mirror/cluster.js'],
              message: CLI_IMPORTS,
            },
            {
              group: [
                '../kafka/**',
                '!../kafka/sasl/',
                '!../kafka/sasl/client.js',
                '!../kafka/server-options.js',
                '!../kafka/broker-process.js',
              ],
              message: CLI_IMPORTS,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
