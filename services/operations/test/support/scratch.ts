import { afterAll, beforeAll, beforeEach } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { deploy } from '../../migrate/commands.js';
import { createScratchDatabase, withDatabase } from '../../migrate/scratch-db.js';
import { storeEnv } from '@platform/testkit';
import { createDb, type Db } from '../../src/store/prisma.js';
import { createPool, poolRunner, type SqlPool } from '../../src/store/sql.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Fails loudly (never skips) when the stores are not configured. */
export function requireStores(...keys: string[]): Record<string, string> {
  const env = storeEnv();
  const missing = keys.filter((k) => !env[k]);
  if (missing.length > 0)
    throw new Error(`${missing.join(', ')} not set: run \`bash scripts/infra.sh up\` (or eval "$(bash scripts/infra.sh env)")`);
  return env;
}

/** Connection options that turn the owner's break-glass policy on (what the owner needs to see every row). */
export const OWNER_BYPASS = '-c app.owner_bypass=on';

export interface ScratchDb {
  name: string;
  /** platform_owner: owns the tables (migrations, test assertions that must see every row). */
  adminUrl: string;
  /** operations_app: what the service connects as (RLS applies). */
  appUrl: string;
  /** A Prisma client as the service role. */
  db: Db;
  /** The hot-path pool as the service role (event store, saga steps), as in production. */
  sql: SqlPool;
  /**
   * Plain pg pool as the owner, for assertions and setup that bypass the service. Row-level security
   * is FORCEd, so the owner too sees nothing unless it says so: this pool connects with the owner's
   * break-glass setting (app.owner_bypass=on, see the *_force_rls_team_directory migration).
   */
  admin: pg.Pool;
  drop(): Promise<void>;
}

/**
 * A fresh database with every migration of prisma/migrations applied through the project's migration
 * tool, so each test file is isolated from the shared `platform` database and from other files.
 * Dropped WITH (FORCE) by drop().
 */
export async function migratedScratchDb(tag: string, opts: { poolMax?: number } = {}): Promise<ScratchDb> {
  const env = requireStores('DATABASE_URL', 'DATABASE_ADMIN_URL');
  const scratch = await createScratchDatabase(env['DATABASE_ADMIN_URL']!, `ops_${tag}`);
  try {
    await deploy({
      paths: { schema: path.join(ROOT, 'prisma', 'schema.prisma'), migrationsDir: path.join(ROOT, 'prisma', 'migrations') },
      databaseUrl: scratch.url,
    });
  } catch (err) {
    await scratch.drop();
    throw err;
  }
  const appUrl = withDatabase(env['DATABASE_URL']!, scratch.name);
  const db = createDb(appUrl, { max: opts.poolMax ?? 10 });
  const admin = new pg.Pool({ connectionString: scratch.url, max: 3, options: OWNER_BYPASS });
  const sqlPool = createPool(appUrl, { max: opts.poolMax ?? 10 });
  return {
    name: scratch.name,
    adminUrl: scratch.url,
    appUrl,
    db,
    sql: poolRunner(sqlPool),
    admin,
    drop: async () => {
      await db.$disconnect().catch(() => undefined);
      await sqlPool.end().catch(() => undefined);
      await admin.end().catch(() => undefined);
      if (!(await backendsGone(env['DATABASE_ADMIN_URL']!, scratch.name))) await endOwnBackends(env['DATABASE_URL']!, scratch.name);
      await scratch.drop();
    },
  };
}

/**
 * A closed client's server process exits a moment after its socket closes. DROP DATABASE … WITH (FORCE)
 * would try to terminate such a still-exiting operations_app backend, which the owner role may not do,
 * so wait until the service role's backends are gone (killed test workers included). False when some
 * are still there after `timeoutMs`.
 */
export async function backendsGone(adminUrl: string, database: string, timeoutMs = 5_000): Promise<boolean> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [database]);
      if (rows[0]!.n === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  } finally {
    await c.end();
  }
}

/**
 * Ends the service role's connections to `database` that outlived the wait (an idle pooled connection
 * some client never closed, seen under load): a role may end its own backends, which the owner may
 * not. Connects as that role to its usual database, never to the one being dropped.
 */
async function endOwnBackends(appUrl: string, database: string): Promise<void> {
  const c = new pg.Client({ connectionString: appUrl });
  await c.connect();
  try {
    await c.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()`,
      [database],
    );
  } finally {
    await c.end();
  }
}

/**
 * A migrated scratch database for one test file: made before its tests, dropped after them. A failed
 * set-up fails every test with its own error (not a TypeError on a missing database). What it answers
 * stands for the database from `beforeAll` on.
 */
export function useScratchDb(tag: string, opts: { poolMax?: number } = {}): ScratchDb {
  let db: ScratchDb | undefined;
  let setupError: unknown;
  beforeAll(async () => {
    try {
      db = await migratedScratchDb(tag, opts);
    } catch (e) {
      setupError = e;
    }
  });
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(async () => {
    await db?.drop();
  });
  return new Proxy({} as ScratchDb, {
    get(_target, prop) {
      if (!db) throw setupError instanceof Error ? setupError : new Error(`scratch database ${tag} is not set up yet`);
      const value: unknown = Reflect.get(db, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(db) : value;
    },
  });
}
