/**
 * ESLint (flat config): typescript-eslint's type-checked recommended rules over src/, routes/,
 * scripts/, test/ and bin/. `npm run lint` runs it, formatting rules included (@stylistic); `.ci/run` runs `npm run lint`.
 */
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'data/**', 'native/build/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  // Formatting as rules (what neostandard, Fastify's config, uses): the house style, fixed by --fix.
  stylistic.configs.customize({ semi: true, quotes: 'single', indent: 2, commaDangle: 'always-multiline', braceStyle: '1tbs', arrowParens: true, jsx: false }),
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.mjs', 'bin/*.mjs', 'docker/*.mjs', 'native/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `x as tf.Tensor4D` states a tensor's rank, which tfjs' op signatures lose; keep those.
      '@typescript-eslint/no-unnecessary-type-assertion': ['error', { typesToIgnore: ['tf.Scalar', 'tf.Tensor1D', 'tf.Tensor2D', 'tf.Tensor3D', 'tf.Tensor4D', 'tf.Tensor5D', 'tf.Tensor'] }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // Tests read untyped JSON answers (supertest's body is `any`) and assert on them.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['**/*.mjs', '**/*.cjs', '**/*.js'], ...tseslint.configs.disableTypeChecked, languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly' } } },
);
