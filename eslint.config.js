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
            {
              regex: '^(\\.\\./)+(scripts|tests)/',
              message: 'Packages do not import scripts/ or tests/: use @platform/testkit (or move the helper there).',
            },
            {
              regex: '^(\\.\\./)+(services|shared)/',
              message: 'Reach another package by its name and public exports (package.json "exports"), not by path.',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
);
