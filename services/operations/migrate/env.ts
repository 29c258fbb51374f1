/**
 * Environment of the migration tool, validated once (zod). Passwords never appear in messages.
 *
 * DATABASE_ADMIN_URL  role that owns the schema (DDL) and has CREATEDB (scratch databases for diffs).
 * DATABASE_URL        fallback when no admin URL is set (e.g. a dev database owned by the app role).
 * PRISMA_MIGRATE_LOG  "1" prints the schema engine's own log lines to stderr.
 * PRISMA_MIGRATE_TIMING "1" prints the wall time of the command to stderr.
 */
import { z } from 'zod';

const emptyAsUnset = (v: unknown) => (v === '' ? undefined : v);

export const PostgresUrl = z
  .string()
  .refine((s) => URL.canParse(s), 'not a URL')
  .refine((s) => !URL.canParse(s) || /^postgres(ql)?:$/.test(new URL(s).protocol), 'must start with postgres:// or postgresql://')
  .refine((s) => !URL.canParse(s) || new URL(s).pathname.replace(/^\//, '').length > 0, 'must name a database (…/dbname)')
  // Only the `public` schema is supported/tested on this path (PRISMA-MIGRATIONS.md).
  .refine((s) => !URL.canParse(s) || (new URL(s).searchParams.get('schema') ?? 'public') === 'public', 'only ?schema=public is supported');

const EnvSchema = z.object({
  DATABASE_ADMIN_URL: z.preprocess(emptyAsUnset, PostgresUrl.optional()),
  DATABASE_URL: z.preprocess(emptyAsUnset, PostgresUrl.optional()),
  PRISMA_MIGRATE_LOG: z.preprocess(emptyAsUnset, z.enum(['0', '1']).optional()),
  PRISMA_MIGRATE_TIMING: z.preprocess(emptyAsUnset, z.enum(['0', '1']).optional()),
});

export interface MigrateEnv {
  /** DATABASE_ADMIN_URL, else DATABASE_URL; undefined when neither is set. */
  databaseUrl: string | undefined;
  /** Which variable `databaseUrl` came from (for messages). */
  source: 'DATABASE_ADMIN_URL' | 'DATABASE_URL' | undefined;
  engineLog: boolean;
  timing: boolean;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): MigrateEnv {
  const r = EnvSchema.safeParse({
    DATABASE_ADMIN_URL: env['DATABASE_ADMIN_URL'],
    DATABASE_URL: env['DATABASE_URL'],
    PRISMA_MIGRATE_LOG: env['PRISMA_MIGRATE_LOG'],
    PRISMA_MIGRATE_TIMING: env['PRISMA_MIGRATE_TIMING'],
  });
  if (!r.success) {
    // Report the variable and the rule, never the value (it holds a password).
    const problems = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${problems}`);
  }
  const { DATABASE_ADMIN_URL, DATABASE_URL, PRISMA_MIGRATE_LOG, PRISMA_MIGRATE_TIMING } = r.data;
  return {
    databaseUrl: DATABASE_ADMIN_URL ?? DATABASE_URL,
    source: DATABASE_ADMIN_URL ? 'DATABASE_ADMIN_URL' : DATABASE_URL ? 'DATABASE_URL' : undefined,
    engineLog: PRISMA_MIGRATE_LOG === '1',
    timing: PRISMA_MIGRATE_TIMING === '1',
  };
}

export function requireDatabaseUrl(env: MigrateEnv): string {
  if (!env.databaseUrl) throw new Error('set DATABASE_ADMIN_URL (or DATABASE_URL): postgresql://user:password@host:port/database');
  return env.databaseUrl;
}
