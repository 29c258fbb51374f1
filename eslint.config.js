// One lint setup for the whole monorepo (flat config).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/generated/**', '.data/**', 'helm/**', 'k8s/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Packages (services/*, shared/*) reach each other by package name and public exports only:
    // no relative path into scripts/, tests/, or another package's src/ or test/. tests/ and
    // scripts/ are not packages and may use any package by name (test helpers: @platform/testkit).
    files: ['services/**/*.ts', 'shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+(scripts|tests)/', message: 'Packages do not import scripts/ or tests/: use @platform/testkit (or move the helper there).' },
            { regex: '^(\\.\\./)+(services|shared)/', message: "Reach another package by its name and public exports (package.json \"exports\"), not by path." },
          ],
        },
      ],
    },
  },
  {
    // Operations' scratch databases and bench still run the migrator from scripts/prisma (it ships in
    // the operations image from there): the one back door left, until the migrator moves into operations.
    files: ['services/operations/test/support/scratch.ts', 'services/operations/bench/run.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The services' whole-system e2e tests spawn processes through scripts/lib/{processes,test-system}
    // and call them through tests/lib/http-call; those helpers need the three routers' types, so they
    // cannot live in @platform/testkit (every service depends on it). Left until they move to tests/.
    files: ['services/*/test/*.e2e.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(services|shared)/', message: 'Reach another package by its name and public exports.' }] }] },
  },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
);
