/**
 * The migration path is unsupported internal Prisma API (WASM schema engine + adapter-pg), so this test
 * pins its behaviour: create → deploy → re-deploy (no-op) → drift detected → broken migration refused
 * atomically. It runs on a scratch database created from DATABASE_ADMIN_URL (role with CREATEDB) and
 * FAILS — never skips — when that variable is missing or Postgres is unreachable.
 *
 *   DATABASE_ADMIN_URL=postgresql://platform_owner:platform_owner_local@127.0.0.1:55432/platform \
 *     npx vitest run --project int services/operations/migrate
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { check, createMigration, deploy, MigrationFailedError, readMigrationsTable, status, type CommandContext } from './commands.js';
import { PostgresUrl } from './env.js';
import { checksum, readMigrationsDir } from './migrations-dir.js';
import { createScratchDatabase, SCRATCH_PREFIX, type ScratchDatabase } from './scratch-db.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..', '..');

const adminUrl = z
  .string({ error: () => 'DATABASE_ADMIN_URL must be set for the int tests (postgresql://… of a role with CREATEDB)' })
  .pipe(PostgresUrl)
  .parse(process.env['DATABASE_ADMIN_URL']);

let db: ScratchDatabase | undefined;
let workDir = '';
let ctx: CommandContext;

async function sql<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: ctx.databaseUrl });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

async function migrationFolders(): Promise<string[]> {
  return (await readMigrationsDir(ctx.paths.migrationsDir)).migrations.map((m) => m.name);
}

let setupError: unknown;

beforeAll(async () => {
  try {
    await setup();
  } catch (e) {
    setupError = e; // re-thrown by every test (a throwing beforeAll would only mark them "skipped")
  }
});

// Unreachable Postgres (or no CREATEDB) → every test FAILS with the connection error.
beforeEach(() => {
  if (setupError) throw setupError;
});

async function setup(): Promise<void> {
  db = await createScratchDatabase(adminUrl, 'inttest');
  workDir = await mkdtemp(path.join(tmpdir(), 'prisma-migrate-int-'));
  await mkdir(path.join(workDir, 'prisma'));
  // A frozen fixture, not prisma/schema.prisma: the product schema relies on hand-written migration SQL
  // (generated columns, function defaults) that a from-scratch generated migration cannot apply.
  await cp(path.join(HERE, 'fixtures', 'slice.schema.prisma'), path.join(workDir, 'prisma', 'schema.prisma'));
  ctx = {
    paths: { schema: path.join(workDir, 'prisma', 'schema.prisma'), migrationsDir: path.join(workDir, 'prisma', 'migrations') },
    databaseUrl: db.url,
  };
}

afterAll(async () => {
  await db?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('operations migration tool (WASM schema engine)', () => {
  it('create writes a migration folder from the schema, then reports no changes', async () => {
    const first = await createMigration(ctx, 'init', { now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) });
    expect(first.file).toBe(path.join(ctx.paths.migrationsDir, '20260102030405_init', 'migration.sql'));
    const text = await readFile(first.file!, 'utf8');
    expect(text).toContain('CREATE TABLE "tasks"');
    expect(text).toContain('CREATE INDEX "outbox_unpublished_idx" ON "outbox"("created_at") WHERE (published_at IS NULL);');
    expect(text).toContain('ON DELETE CASCADE');
    expect(await readFile(path.join(ctx.paths.migrationsDir, 'migration_lock.toml'), 'utf8')).toContain('provider = "postgresql"');

    const again = await createMigration(ctx, 'init');
    expect(again).toEqual({ file: null, sql: null });
    expect(await migrationFolders()).toEqual(['20260102030405_init']);
  });

  it('deploy applies pending migrations and records them like Prisma (checksum = sha256)', async () => {
    const r = await deploy(ctx);
    expect(r.applied).toEqual(['20260102030405_init']);
    const rows = await readMigrationsTable(ctx.databaseUrl);
    const file = await readFile(path.join(ctx.paths.migrationsDir, '20260102030405_init', 'migration.sql'), 'utf8');
    expect(rows).toHaveLength(1);
    expect(rows![0]).toMatchObject({
      migration_name: '20260102030405_init',
      checksum: checksum(file),
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(rows![0]!.finished_at).toBeInstanceOf(Date);
    expect(await sql(`SELECT 1 FROM tasks`)).toEqual([]);
  });

  it('re-deploy is a no-op', async () => {
    const r = await deploy(ctx);
    expect(r).toEqual({ applied: [], upToDate: 1, edited: [] });
    expect(await readMigrationsTable(ctx.databaseUrl)).toHaveLength(1);
  });

  it('check passes when schema, migrations and database agree', async () => {
    const r = await check(ctx);
    expect(r.problems).toEqual([]);
    expect(r.status.drift).toBeNull();
  });

  it('check detects drift of the live database (column added by hand)', async () => {
    await sql(`ALTER TABLE tasks ADD COLUMN hand_made integer`);
    try {
      const r = await check(ctx);
      expect(r.schemaDiff).toBeNull();
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatch(/drifted/);
      expect(r.problems[0]).toContain('hand_made');

      // Same through the CLI: readable message on stderr, exit code 1.
      const cli = spawnSync(process.execPath, ['--import', 'tsx', path.join(HERE, 'migrate.ts'), 'check', '--schema', ctx.paths.schema], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_ADMIN_URL: ctx.databaseUrl, DATABASE_URL: '' },
        encoding: 'utf8',
      });
      expect(cli.status, cli.stderr).toBe(1);
      expect(cli.stderr).toContain('check FAILED');
      expect(cli.stderr).toContain('hand_made');
    } finally {
      await sql(`ALTER TABLE tasks DROP COLUMN hand_made`);
    }
    expect((await check(ctx)).problems).toEqual([]);
  });

  it('check detects a schema change that has no migration yet', async () => {
    const schema = await readFile(ctx.paths.schema, 'utf8');
    await writeFile(
      ctx.paths.schema,
      schema.replace(
        '  attempts    Int       @default(0)',
        '  attempts    Int       @default(0)\n  lastError   String?   @map("last_error")',
      ),
    );
    try {
      const r = await check(ctx);
      expect(r.schemaDiff).toContain('last_error');
      expect(r.problems.join('\n')).toMatch(/disagree/);
    } finally {
      await writeFile(ctx.paths.schema, schema);
    }
  });

  it('a broken migration is refused atomically and not recorded as applied', async () => {
    const name = '20260102030406_broken';
    const file = path.join(ctx.paths.migrationsDir, name, 'migration.sql');
    await mkdir(path.dirname(file));
    await writeFile(file, 'CREATE TABLE "first_ok" (id integer);\nALTER TABLE "does_not_exist" ADD COLUMN x integer;\n');

    const err = await deploy(ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect((err as MigrationFailedError).migration).toBe(name);
    expect((err as Error).message).toMatch(/rolled back as a whole/);
    expect((err as Error).message).toContain('Postgres 42P01: relation "does_not_exist" does not exist');

    // First statement's effect is absent …
    expect(await sql<{ t: string | null }>(`SELECT to_regclass('public.first_ok')::text AS t`)).toEqual([{ t: null }]);
    // … and the migration is not recorded as applied (Prisma's failed row is marked rolled back).
    const rows = (await readMigrationsTable(ctx.databaseUrl))!.filter((r) => r.migration_name === name);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.finished_at).toBeNull();
    expect(rows[0]!.rolled_back_at).toBeInstanceOf(Date);
    const st = await status(ctx, { drift: true });
    expect(st.migrations.find((m) => m.name === name)?.state).toBe('pending');
    expect(st.drift).toBeNull();

    // Fixed file (with a $$ body full of semicolons, which adapter-pg's own executeScript would split) deploys.
    await writeFile(
      file,
      'CREATE TABLE "first_ok" (id integer);\n' +
        'CREATE FUNCTION first_ok_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.id := coalesce(NEW.id, 0); RETURN NEW; END; $$;\n',
    );
    expect((await deploy(ctx)).applied).toEqual([name]);
    expect(await sql<{ t: string | null }>(`SELECT to_regclass('public.first_ok')::text AS t`)).toEqual([{ t: 'first_ok' }]);
  });

  it('leaves no scratch (shadow) databases behind', async () => {
    const rows = await sql<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE '${SCRATCH_PREFIX}shadow_${process.pid}_%'`,
    );
    expect(rows).toEqual([]);
  });
});
