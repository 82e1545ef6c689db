// Flat config: typescript-eslint's recommended rules plus the layering rule of STYLE.md
// (the protocol core imports nothing from node:*).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '.build-*/**', 'node_modules/**', 'artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Programs written for ws (CommonJS) and compile-only type fixtures, kept as users write them.
    files: ['test/compat/programs/**', 'test/compat/types/**'],
    languageOptions: { globals: { require: 'readonly', module: 'readonly' } },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': 'off',
    },
  },
  {
    // What a server process loads takes its Node built-ins from src/node/builtins.ts (an ES import
    // of a built-in runs its lazy getters, and rarely used ones load on first use). The commands
    // loaded only when run (connect, audit, bench) may import them directly.
    files: ['src/index.ts', 'src/node/**/*.ts', 'src/pubsub/**/*.ts', 'src/cli/*.ts'],
    ignores: [
      'src/node/builtins.ts',
      'src/node/platform.ts',
      'src/cli/bench.ts',
      'src/cli/connect.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*'],
              allowTypeImports: true,
              message: 'take Node built-ins from src/node/builtins.ts (import type is fine).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', '../node/*', '../cli/*'],
              message: 'src/protocol is sans-I/O: no Node modules.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'setTimeout',
        'setInterval',
        'setImmediate',
        'Buffer',
        'process',
      ],
    },
  },
);
