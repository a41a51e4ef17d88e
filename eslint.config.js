/**
 * ESLint (flat config) for the whole repository, formatting included: ESLint's and
 * typescript-eslint's type-checked recommended rules on the TypeScript in src/, routes/, scripts/
 * and test/, the untyped ones on the plain JavaScript (bin/, docker/, this file), and
 * @stylistic's formatting rules in neostandard's (Fastify's) flavour with semicolons. Not Prettier:
 * it reflows the long lines and would push files over the 250-line budget.
 * `npm run lint` runs it; so does `.ci/run`. `npx eslint --fix <files>` applies the formatting.
 */
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/**', 'out/**', 'data/**', 'native/build/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  // Formatting as rules (what neostandard, Fastify's config, uses): the house style, fixed by --fix.
  stylistic.configs.customize({ semi: true, quotes: 'single', indent: 2, commaDangle: 'always-multiline', braceStyle: '1tbs', arrowParens: true, jsx: false }),
  {
    // Where @stylistic's preset and neostandard differ, the code is written the neostandard way.
    rules: {
      // Operators end the wrapped line (`a +\n b`), except `?`/`:` and a type union's leading `|`.
      '@stylistic/operator-linebreak': ['error', 'after', { overrides: { '?': 'before', ':': 'before', '|': 'before', '&': 'before', '|>': 'before' } }],
      // "can't" reads better than 'can\'t': a string holding single quotes may use double ones.
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
      // list-style wants every list either on one line or one item per line; the code wraps long
      // argument and property lists compactly instead, and exploding them would push files past the
      // 250-line budget (the reason Prettier was rejected). neostandard has no such rule.
      '@stylistic/list-style': 'off',
      // A wrapped `a +\n b` is indented one level past its first operand (as @stylistic/indent
      // does elsewhere); indent-binary-ops would pull it back level with the operand, where in an
      // array of lines the continuation reads as the next element.
      '@stylistic/indent-binary-ops': 'off',
      // Keys such as '00' and '10' (bit strings) stay quoted; neostandard's as-needed otherwise.
      '@stylistic/quote-props': ['error', 'as-needed', { numbers: true }],
    },
  },
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
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
  {
    // Plain JavaScript (bin/, docker/, this file, the wasm worker shim) is linted without types:
    // keep disableTypeChecked's parser options (no project service) and only add Node's globals.
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly', console: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly', __filename: 'readonly',
        URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', AbortSignal: 'readonly',
      },
    },
  },
  // A CommonJS file loads its dependencies with require(); that is the point of it being .cjs.
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
