import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './local-env.js';

/**
 * A second, throwaway Postgres cluster started by the same scripts/infra.sh (INFRA_DATA and
 * INFRA_PG_PORT point it elsewhere), for drills that stop Postgres without disturbing anyone.
 */
export interface PrivatePostgres {
  databaseUrl: string;
  adminUrl: string;
  stop(): void;
  start(): void;
  migrate(): void;
  destroy(): void;
}

export function startPrivatePostgres(port: number): PrivatePostgres {
  const data = mkdtempSync(join(tmpdir(), 'drill-pg-'));
  chmodSync(data, 0o755); // the postgres OS user must reach it when we run as root
  const env = { ...process.env, INFRA_DATA: data, INFRA_PG_PORT: String(port), DATABASE_URL: '', DATABASE_ADMIN_URL: '' };
  const infra = (...args: string[]) =>
    execFileSync('bash', ['scripts/infra.sh', ...args], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  infra('up', 'postgres');
  const exported = Object.fromEntries(
    [...infra('env').matchAll(/^export (DATABASE_URL|DATABASE_ADMIN_URL)='([^']*)'$/gm)].map((m) => [m[1], m[2]]),
  ) as Record<'DATABASE_URL' | 'DATABASE_ADMIN_URL', string>;
  const pg: PrivatePostgres = {
    databaseUrl: exported.DATABASE_URL,
    adminUrl: exported.DATABASE_ADMIN_URL,
    stop: () => void infra('down', 'postgres'),
    start: () => void infra('up', 'postgres'),
    migrate: () =>
      void execFileSync('npm', ['run', '--silent', 'db:migrate'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_ADMIN_URL: exported.DATABASE_ADMIN_URL },
        stdio: 'pipe',
      }),
    destroy: () => {
      try {
        infra('down', 'postgres');
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
    },
  };
  return pg;
}
