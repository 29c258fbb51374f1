/**
 * Prisma migrations without Prisma's native schema-engine binary (which cannot be downloaded here):
 * Prisma's own schema engine compiled to WASM, driven through @prisma/adapter-pg.
 * Background and measured facts: /work/shared/PRISMA-MIGRATIONS.md (Route A).
 *
 * Operations' database migrator (its only SQL database), in the operations package and compiled into its
 * image (dist/migrate/migrate.js). From the repository root:
 *   npm run db:migrate:create -- <name> [--empty]   new prisma/migrations/<UTC ts>_<name>/migration.sql
 *   npm run db:migrate                              apply pending migrations
 *   npm run db:migrate:status [-- --no-drift]       applied / pending / failed + drift (exit 1 unless all applied and no drift)
 *   npm run db:migrate:check                        CI gate: schema ≡ migrations, live database ≡ applied migrations
 *   npm run db:generate                             prisma generate, never downloading engines
 * (each runs `tsx migrate/migrate.ts <command>` in services/operations; see its package.json).
 * Options: --schema <file> (default prisma/schema.prisma), --migrations <dir> (default: next to the schema);
 * relative paths are taken from the directory npm was started in.
 * Env: DATABASE_ADMIN_URL (fallback DATABASE_URL); PRISMA_MIGRATE_LOG=1 for engine logs.
 * create/check/status-with-drift replay migrations in a scratch database: the role needs CREATEDB.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { check, createMigration, deploy, status, type CommandContext, type StatusReport } from './commands.js';
import { readEnv, requireDatabaseUrl, type MigrateEnv } from './env.js';
import { redact } from './scratch-db.js';

/**
 * The directory holding prisma/migrations: the repository root in a checkout (three levels above this
 * file), /app in the operations image (four above dist/migrate/migrate.js). Found by looking upwards, so
 * the source and the compiled file agree without a path that holds for only one of them.
 */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'prisma', 'migrations'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no prisma/migrations above ${from}`);
  }
}

const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
/** Where the user started npm (npm runs the script in services/operations), for relative --schema/--migrations. */
const CALLER_DIR = process.env['INIT_CWD'] ?? process.cwd();

const Command = z.enum(['create', 'deploy', 'status', 'check', 'generate'], {
  error: () =>
    'usage: migrate.ts <create <name> [--empty] | deploy | status [--no-drift] | check | generate> [--schema file] [--migrations dir]',
});

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function printStatus(st: StatusReport): void {
  if (!st.hasMigrationsTable) print('database has no _prisma_migrations table yet (nothing applied)');
  for (const m of st.migrations) {
    const when = m.finishedAt ? `  ${m.finishedAt.toISOString()}` : '';
    print(`  ${m.state.padEnd(8)} ${m.name}${when}${m.edited ? '  (EDITED after apply: checksum differs)' : ''}`);
  }
  if (st.migrations.length === 0) print('  (no migrations in the directory)');
  for (const n of st.unknownInDatabase) print(`  UNKNOWN  ${n}  (in the database, not in the directory)`);
  const pending = st.migrations.filter((m) => m.state === 'pending').length;
  const applied = st.migrations.filter((m) => m.state === 'applied').length;
  print(`${applied} applied, ${pending} pending, ${st.migrations.length - applied - pending} failed`);
  if (st.drift === undefined) print('drift: not checked (--no-drift)');
  else if (st.drift === null) print('drift: none (live database matches its applied migrations)');
  else print(`drift: the live database differs from its applied migrations:\n${st.drift.replace(/^(?=.)/gm, '    ')}`);
}

function generate(): number {
  // The `prisma-client` generator needs no engine, but the CLI resolves (and otherwise downloads) the
  // schema-engine binary on start-up: any existing executable satisfies it and is never run.
  const bin = '/bin/false';
  accessSync(bin, constants.X_OK);
  const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('prisma/package.json')), 'build', 'index.js');
  const r = spawnSync(process.execPath, [cli, 'generate'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: bin, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

async function main(argv: string[], env: MigrateEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      empty: { type: 'boolean', default: false },
      'no-drift': { type: 'boolean', default: false },
      schema: { type: 'string' },
      migrations: { type: 'string' },
    },
  });
  const [rawCommand, ...rest] = positionals;
  const cmd = Command.parse(rawCommand);
  if (cmd === 'generate') return generate();

  const schema = path.resolve(CALLER_DIR, values.schema ?? path.join(ROOT, 'prisma', 'schema.prisma'));
  const migrationsDir = path.resolve(CALLER_DIR, values.migrations ?? path.join(path.dirname(schema), 'migrations'));
  const databaseUrl = requireDatabaseUrl(env);
  const ctx: CommandContext = {
    paths: { schema, migrationsDir },
    databaseUrl,
    engineLog: env.engineLog ? (line) => process.stderr.write(`[schema-engine] ${line}\n`) : undefined,
  };
  const target = `${redact(databaseUrl)} (${env.source})`;

  switch (cmd) {
    case 'create': {
      const name = z.string({ error: () => 'usage: migrate.ts create <name> [--empty]' }).parse(rest[0]);
      const r = await createMigration(ctx, name, { empty: values.empty });
      if (r.file === null) print(`no changes: ${path.relative(ROOT, schema)} matches ${path.relative(ROOT, migrationsDir)}`);
      else print(`created ${path.relative(CALLER_DIR, r.file)}${values.empty ? ' (empty: add your SQL)' : ''}`);
      return 0;
    }
    case 'deploy': {
      print(`deploying ${path.relative(ROOT, migrationsDir) || migrationsDir} to ${target}`);
      const r = await deploy(ctx);
      for (const n of r.edited) print(`warning: applied migration ${n} was edited afterwards (checksum mismatch)`);
      if (r.applied.length === 0) print(`no pending migrations: database is up to date (${r.upToDate} applied)`);
      else for (const n of r.applied) print(`applied ${n}`);
      return 0;
    }
    case 'status': {
      print(`status of ${target}`);
      const st = await status(ctx, { drift: !values['no-drift'] });
      printStatus(st);
      const ok = st.migrations.every((m) => m.state === 'applied' && !m.edited) && st.unknownInDatabase.length === 0 && !st.drift;
      return ok ? 0 : 1;
    }
    case 'check': {
      const r = await check(ctx);
      printStatus(r.status);
      print(`schema vs migrations: ${r.schemaDiff === null ? 'in sync' : 'OUT OF SYNC'}`);
      if (r.problems.length === 0) {
        print('check passed');
        return 0;
      }
      process.stderr.write(`check FAILED:\n${r.problems.map((p) => `- ${p}`).join('\n')}\n`);
      return 1;
    }
  }
}

const started = performance.now();
Promise.resolve()
  .then(async () => {
    const env = readEnv();
    const code = await main(process.argv.slice(2), env);
    if (env.timing) process.stderr.write(`took ${Math.round(performance.now() - started)} ms\n`);
    return code;
  })
  .catch((e: unknown) => {
    const msg = e instanceof z.ZodError ? e.issues.map((i) => i.message).join('; ') : e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${msg}\n`);
    return 1;
  })
  // Exit explicitly: all our connections are closed by now, but the engine's advisory-lock wait
  // (applyMigrations) leaves a ~10 s JS timer armed that would otherwise keep `deploy` alive.
  .then((code) => process.exit(code));
