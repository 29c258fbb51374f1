import { defineConfig } from 'vitest/config';

// Test kind is in the file name: *.unit.test.ts (pure), *.int.test.ts (real stores), *.e2e.test.ts (processes).
const conditions = ['@platform/source'];
const shared = { resolve: { conditions }, ssr: { resolve: { conditions, externalConditions: conditions } } };

export default defineConfig({
  ...shared,
  test: {
    projects: [
      { ...shared, test: { name: 'unit', include: ['{shared,services,scripts,tests}/**/*.unit.test.ts'], testTimeout: 10_000 } },
      {
        ...shared,
        test: {
          name: 'int',
          include: ['{shared,services,scripts,tests}/**/*.int.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        ...shared,
        test: {
          name: 'e2e',
          include: ['{shared,services,scripts,tests}/**/*.e2e.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
