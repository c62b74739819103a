// Lint rules that catch what the type checker does not (issue 16). Kept small on purpose:
// each rule here has a reason in this codebase, not a style preference.
import tseslint from 'typescript-eslint';

/** What workflow code must never import: it runs in Temporal's deterministic sandbox. */
const NOT_IN_WORKFLOWS = [
  { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'net', 'http', 'https'], message: 'Workflow code is replayed in a sandbox: no Node built-ins (they are non-deterministic or unavailable).' },
  { group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'mqtt', 'pino', 'prom-client'], message: 'Workflow code talks to the world only through activities.' },
  { group: ['../activities/*', '../bridge/*', '../client/*', '../cli/*', '../config/*', '../device/*', '../stack/*', '../workers/*'], message: 'Workflows import only protocol/ and Temporal\'s workflow API (README, "Layout").' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'bench/results/**', 'protocol/json-schema/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    // Some comments disable rules of the wider recommended sets, for whoever turns them on.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits loses its error: an unhandled rejection, or a step that silently
      // never ran. Fire-and-forget must say so with `void`.
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: NOT_IN_WORKFLOWS }] },
  },
);
