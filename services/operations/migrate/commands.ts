/**
 * The migration commands (create, deploy, status, check) on top of the WASM schema engine.
 * Pure functions of their inputs (paths, URL) returning reports, so the CLI and the integration test
 * share them; printing and exit codes live in migrate.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SchemaContainer } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { z } from 'zod';
import { NO_FILTER, withSchemaEngine, type EngineSession, type ScriptFailure } from './engine.js';
import {
  EMPTY_MIGRATION,
  MigrationName,
  nextMigrationName,
  readMigrationsDir,
  toMigrationList,
  writeMigration,
  type LoadedMigrationsDir,
} from './migrations-dir.js';

export interface Paths {
  /** schema.prisma */
  schema: string;
  /** prisma/migrations */
  migrationsDir: string;
}

export interface CommandContext {
  paths: Paths;
  /** Admin database URL (DDL + CREATEDB). */
  databaseUrl: string;
  /** Engine log lines (PRISMA_MIGRATE_LOG=1). */
  engineLog?: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------

const SchemaFile = z
  .string()
  .min(1, 'is empty')
  .refine((s) => /datasource\s+\w+\s*\{[^}]*provider\s*=\s*"postgresql"/s.test(s), 'needs a datasource with provider = "postgresql"');

async function readSchema(file: string): Promise<SchemaContainer[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read schema ${file}: ${(e as Error).message}`);
  }
  const r = SchemaFile.safeParse(text);
  if (!r.success) throw new Error(`${file}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return [{ path: file, content: r.data }];
}

/**
 * Target "the live database" for `diff`. The WASM engine refuses `{ tag: 'url' }` ("--from-url and
 * --to-url flags are no longer supported") and instead introspects a `schemaDatasource` through the
 * adapter's main connection; the schema content only has to name the provider, so deploy/status work
 * where no schema.prisma is shipped (e.g. a migration Job image with just prisma/migrations).
 */
const LIVE_DATABASE = {
  tag: 'schemaDatasource' as const,
  files: [{ path: 'live-database.prisma', content: 'datasource db {\n  provider = "postgresql"\n}\n' }],
  configDir: process.cwd(),
};

// ---------------------------------------------------------------------------------------------------
// _prisma_migrations (read-only; the engine writes it)
// ---------------------------------------------------------------------------------------------------

const MigrationRow = z.object({
  migration_name: z.string(),
  checksum: z.string(),
  started_at: z.date(),
  finished_at: z.date().nullable(),
  rolled_back_at: z.date().nullable(),
  applied_steps_count: z.number().int(),
});
export type MigrationRow = z.infer<typeof MigrationRow>;

/** Rows of Prisma's `_prisma_migrations`, or null when the table does not exist yet. */
export async function readMigrationsTable(url: string): Promise<MigrationRow[] | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('public._prisma_migrations')::text AS t`);
    if (!exists.rows[0]?.t) return null;
    const res = await client.query(
      `SELECT migration_name, checksum, started_at, finished_at, rolled_back_at, applied_steps_count
         FROM public._prisma_migrations ORDER BY started_at, migration_name`,
    );
    return z.array(MigrationRow).parse(res.rows);
  } finally {
    await client.end();
  }
}

const isApplied = (r: MigrationRow) => r.finished_at !== null && r.rolled_back_at === null;

// ---------------------------------------------------------------------------------------------------
// Diffs
// ---------------------------------------------------------------------------------------------------

/** Human-readable summary of (migrations → schema.prisma), or null when they agree. */
async function schemaVsMigrations(
  engine: EngineSession,
  loaded: LoadedMigrationsDir,
  schema: SchemaContainer[],
  script: boolean,
): Promise<string | null> {
  const r = await engine.call('diff', {
    from: { tag: 'migrations', ...toMigrationList(loaded) },
    to: { tag: 'schemaDatamodel', files: schema },
    script,
    exitCode: true,
    filters: NO_FILTER,
  });
  return r.exitCode === 2 ? (r.stdout ?? '').trim() : null;
}

/**
 * Drift = difference between what the APPLIED migrations produce (replayed in a scratch database) and
 * the live database. Pending migrations are not drift, so only the applied subset is replayed.
 */
async function liveDrift(engine: EngineSession, loaded: LoadedMigrationsDir, applied: ReadonlySet<string>): Promise<string | null> {
  const r = await engine.call('diff', {
    from: { tag: 'migrations', ...toMigrationList(loaded, applied) },
    to: LIVE_DATABASE,
    script: false,
    exitCode: true,
    filters: NO_FILTER,
  });
  return r.exitCode === 2 ? (r.stdout ?? '').trim() : null;
}

// ---------------------------------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------------------------------

export interface CreateResult {
  /** Path of the new migration.sql, or null when schema and migrations already agree. */
  file: string | null;
  sql: string | null;
}

export async function createMigration(
  ctx: CommandContext,
  rawName: string,
  opts: { empty?: boolean; now?: Date } = {},
): Promise<CreateResult> {
  const parsed = MigrationName.safeParse(rawName);
  if (!parsed.success) throw new Error(`invalid migration name "${rawName}": ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const loaded = await readMigrationsDir(ctx.paths.migrationsDir);
  const folder = nextMigrationName(loaded, parsed.data, opts.now);

  if (opts.empty) {
    // For hand-written SQL (grants, RLS, triggers, partial/CONCURRENTLY indexes): no engine, no database.
    const sql = `${EMPTY_MIGRATION}\n-- Hand-written SQL below runs as ONE transaction (keep CREATE INDEX CONCURRENTLY alone in its own migration).\n`;
    return { file: await writeMigration(loaded, folder, sql), sql };
  }

  const schema = await readSchema(ctx.paths.schema);
  // createMigration fails in this WASM build (PRISMA-MIGRATIONS.md, problem 4): diff migrations → schema
  // (the engine replays the migrations in a scratch database) and write the folder ourselves.
  const sql = await withSchemaEngine(engineOptions(ctx), (engine) => schemaVsMigrations(engine, loaded, schema, true));
  if (sql === null) return { file: null, sql: null };
  return { file: await writeMigration(loaded, folder, `${sql}\n`), sql };
}

// ---------------------------------------------------------------------------------------------------
// deploy
// ---------------------------------------------------------------------------------------------------

export interface DeployResult {
  applied: string[];
  /** Already applied before this run. */
  upToDate: number;
  /** Applied migrations whose migration.sql changed since (checksum mismatch): warning only, like Prisma. */
  edited: string[];
}

export class MigrationFailedError extends Error {
  override name = 'MigrationFailedError';
  constructor(
    message: string,
    readonly migration: string | undefined,
    readonly rolledBack: boolean,
  ) {
    super(message);
  }
}

/** 1-based line/column of a character offset, for messages. */
function lineOf(sql: string, position: number): string {
  const before = sql.slice(0, Math.max(0, position - 1)).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

export async function deploy(ctx: CommandContext): Promise<DeployResult> {
  const loaded = await readMigrationsDir(ctx.paths.migrationsDir);
  if (loaded.migrations.length === 0) return { applied: [], upToDate: 0, edited: [] };
  const migrationsList = toMigrationList(loaded);

  return withSchemaEngine(engineOptions(ctx), async (engine) => {
    const before = await engine.call('diagnoseMigrationHistory', { migrationsList, optInToShadowDatabase: false, filters: NO_FILTER });
    try {
      // The engine takes Prisma's advisory lock (pg_advisory_lock(72707369)), so a concurrent deploy —
      // ours or a native `prisma migrate deploy` — waits instead of double-applying. It records each
      // migration in _prisma_migrations (checksum = sha256 of migration.sql) and runs its file through
      // our executeScript: one simple-protocol query = one implicit transaction.
      const { appliedMigrationNames } = await engine.call('applyMigrations', { migrationsList, filters: NO_FILTER });
      return {
        applied: appliedMigrationNames,
        upToDate: loaded.migrations.length - appliedMigrationNames.length,
        edited: before.editedMigrationNames,
      };
    } catch (e) {
      throw await explainFailedDeploy(engine, loaded, e as Error);
    }
  });
}

/**
 * A migration failed. The engine has recorded it as failed (finished_at NULL), which would make every
 * later deploy stop with P3009 until someone runs `prisma migrate resolve --rolled-back`. When the
 * failure is a Postgres error raised while our executeScript ran the file as one transaction, Postgres
 * has rolled the whole file back, so we mark it rolled back right away (Prisma's own
 * markMigrationRolledBack; the row stays as an audit trail) and a fixed file can simply be redeployed.
 * A file with CREATE INDEX CONCURRENTLY is not transactional (a failure can leave an INVALID index):
 * those stay "failed" for a human to inspect.
 */
async function explainFailedDeploy(engine: EngineSession, loaded: LoadedMigrationsDir, error: Error): Promise<Error> {
  const failure: ScriptFailure | undefined = engine.lastScriptFailure();
  const migration = failure ? loaded.migrations.find((m) => m.sql === failure.script) : undefined;
  if (!failure || !migration) return error; // e.g. P3005 (non-empty database without history), P3009, connection errors

  const where = failure.position ? ` (${lineOf(failure.script, failure.position)})` : '';
  const pgText = `Postgres ${failure.code}: ${failure.message}${where}`;
  if (/\bCONCURRENTLY\b/i.test(migration.sql)) {
    return new MigrationFailedError(
      `migration ${migration.name} failed: ${pgText}\nIt contains CONCURRENTLY and is not transactional: inspect the database (INVALID indexes), then ` +
        `mark it with \`prisma migrate resolve --rolled-back ${migration.name}\` (or fix by hand) before deploying again.`,
      migration.name,
      false,
    );
  }
  await engine.call('markMigrationRolledBack', { migrationName: migration.name });
  return new MigrationFailedError(
    `migration ${migration.name} failed and was rolled back as a whole (nothing of it is applied, later migrations were not attempted):\n  ${pgText}\n` +
      `Fix ${path.join(loaded.dir, migration.name, 'migration.sql')} and deploy again.`,
    migration.name,
    true,
  );
}

// ---------------------------------------------------------------------------------------------------
// status / check
// ---------------------------------------------------------------------------------------------------

export type MigrationState = 'applied' | 'pending' | 'failed';

export interface StatusReport {
  migrations: { name: string; state: MigrationState; finishedAt: Date | null; edited: boolean }[];
  /** In the database but not in the directory. */
  unknownInDatabase: string[];
  hasMigrationsTable: boolean;
  /** Summary of the live database vs the applied migrations; null = no drift; undefined = not checked. */
  drift: string | null | undefined;
}

export async function status(ctx: CommandContext, opts: { drift: boolean }): Promise<StatusReport> {
  const loaded = await readMigrationsDir(ctx.paths.migrationsDir);
  return withSchemaEngine(engineOptions(ctx), (engine) => statusWith(engine, ctx, loaded, opts.drift));
}

async function statusWith(engine: EngineSession, ctx: CommandContext, loaded: LoadedMigrationsDir, drift: boolean): Promise<StatusReport> {
  const diag = await engine.call('diagnoseMigrationHistory', {
    migrationsList: toMigrationList(loaded),
    optInToShadowDatabase: false,
    filters: NO_FILTER,
  });
  const rows = (await readMigrationsTable(ctx.databaseUrl)) ?? [];
  const appliedRows = new Map(rows.filter(isApplied).map((r) => [r.migration_name, r]));
  const failed = new Set(diag.failedMigrationNames);
  const edited = new Set(diag.editedMigrationNames);
  const inDir = new Set(loaded.migrations.map((m) => m.name));

  const migrations = loaded.migrations.map((m) => {
    const row = appliedRows.get(m.name);
    const state: MigrationState = row ? 'applied' : failed.has(m.name) ? 'failed' : 'pending';
    return { name: m.name, state, finishedAt: row?.finished_at ?? null, edited: edited.has(m.name) };
  });
  const unknownInDatabase = [
    ...new Set(rows.filter((r) => isApplied(r) || failed.has(r.migration_name)).map((r) => r.migration_name)),
  ].filter((n) => !inDir.has(n));
  const appliedInDir = new Set([...appliedRows.keys()].filter((n) => inDir.has(n)));
  return {
    migrations,
    unknownInDatabase,
    hasMigrationsTable: diag.hasMigrationsTable,
    drift: drift ? await liveDrift(engine, loaded, appliedInDir) : undefined,
  };
}

export interface CheckReport {
  status: StatusReport;
  /** Summary of migrations → schema.prisma; null when they agree. */
  schemaDiff: string | null;
  /** Human-readable problems; empty = check passed. */
  problems: string[];
}

/** CI gate: schema.prisma ≡ migrations, and the live database ≡ its applied migrations. */
export async function check(ctx: CommandContext): Promise<CheckReport> {
  const loaded = await readMigrationsDir(ctx.paths.migrationsDir);
  const schema = await readSchema(ctx.paths.schema);
  return withSchemaEngine(engineOptions(ctx, schema), async (engine) => {
    const schemaDiff = await schemaVsMigrations(engine, loaded, schema, false);
    const st = await statusWith(engine, ctx, loaded, true);
    const problems: string[] = [];
    if (schemaDiff !== null) {
      problems.push(
        `${ctx.paths.schema} and ${loaded.dir} disagree; create a migration (npm run db:migrate:create -- <name>). ` +
          `Changes the next migration would contain:\n${indent(schemaDiff)}`,
      );
    }
    if (st.drift)
      problems.push(`the live database drifted from its applied migrations (changes made outside migrations):\n${indent(st.drift)}`);
    const failed = st.migrations.filter((m) => m.state === 'failed').map((m) => m.name);
    if (failed.length) problems.push(`failed migrations recorded in the database: ${failed.join(', ')}`);
    const edited = st.migrations.filter((m) => m.edited).map((m) => m.name);
    if (edited.length) problems.push(`applied migrations edited afterwards (checksum mismatch): ${edited.join(', ')}`);
    if (st.unknownInDatabase.length)
      problems.push(`migrations applied to the database but missing from ${loaded.dir}: ${st.unknownInDatabase.join(', ')}`);
    return { status: st, schemaDiff, problems };
  });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.trim() ? `    ${l}` : ''))
    .join('\n');
}

function engineOptions(ctx: CommandContext, schema?: SchemaContainer[]) {
  return {
    url: ctx.databaseUrl,
    adminUrl: ctx.databaseUrl,
    datamodels: schema?.map((f): [string, string] => [f.path, f.content]),
    log: ctx.engineLog,
  };
}
