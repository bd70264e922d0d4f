// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import regexp from 'eslint-plugin-regexp'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tap/', 'coverage/', 'cdk.out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Patterns meet user input (spec fields, headers, command output): one that backtracks
  // super-linearly is a denial of service. The recommended set includes
  // no-super-linear-backtracking and no-misleading-capturing-group; no-super-linear-move
  // also catches unanchored patterns that rescan the input from every position.
  regexp.configs['flat/recommended'],
  {
    rules: {
      'regexp/no-super-linear-backtracking': ['error', { report: 'potential' }],
      'regexp/no-super-linear-move': ['error', { report: 'potential', ignoreSticky: true }],
      'regexp/no-misleading-capturing-group': ['error', { reportBacktrackingEnds: true }],
      // Spec patterns also go into JSON Schema `pattern`, which has no flags: spell cases out.
      'regexp/use-ignore-case': 'off',
    },
  },
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The CLI, the benchmarks and the scripts talk to a terminal on purpose.
    files: ['src/cli/**', 'bench/**', 'bin/**', 'ops/**', 'scripts/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['bin/**', 'ops/**/*.js', 'scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
)
