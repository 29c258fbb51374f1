/**
 * Scratch ("shadow") databases for the schema engine.
 *
 * Why not the adapter's own factory: `PrismaPg({ connectionString }).connectToShadowDb()` builds the
 * shadow pool as `{ ...config, database: shadow }`, and node-postgres lets `connectionString` win, so the
 * "shadow" database is the MAIN database, which the engine then resets (see
 * /work/shared/PRISMA-MIGRATIONS.md, problem 2). We create a uniquely named database ourselves with the
 * admin URL (role needs CREATEDB) and always drop it `WITH (FORCE)` (Postgres >= 13).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const SCRATCH_PREFIX = 'prisma_scratch_';

/** `postgres://…/main` → same server, other database. Keeps user, password, host, port and query options. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (name.length === 0) throw new Error(`database URL has no database name: ${redact(url)}`);
  return name;
}

/** For messages: never print passwords. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function withAdminClient<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  /** Idempotent; drops WITH (FORCE) so leftover connections cannot block it. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database next to the one in `adminUrl` (its role needs CREATEDB).
 * Name: prisma_scratch_<tag>_<pid>_<random>, unique per call and recognisable for manual cleanup.
 */
export async function createScratchDatabase(adminUrl: string, tag = 'shadow'): Promise<ScratchDatabase> {
  const name = `${SCRATCH_PREFIX}${tag}_${process.pid}_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  let dropped = false;
  return {
    name,
    url: withDatabase(adminUrl, name),
    async drop() {
      if (dropped) return;
      await dropDatabase(adminUrl, name);
      dropped = true;
    },
  };
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdminClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}
