/**
 * `@platform/operations/migrate`: the migrator's commands and scratch databases, for whoever needs a
 * migrated database outside this package (the image check in scripts/images, test and bench set-up).
 * The CLI is migrate.ts; this is its library face.
 */
export { check, createMigration, deploy, MigrationFailedError, readMigrationsTable, status } from './commands.js';
export type {
  CheckReport,
  CommandContext,
  CreateResult,
  DeployResult,
  MigrationRow,
  MigrationState,
  Paths,
  StatusReport,
} from './commands.js';
export { createScratchDatabase, databaseName, dropDatabase, redact, SCRATCH_PREFIX, withDatabase } from './scratch-db.js';
export type { ScratchDatabase } from './scratch-db.js';
