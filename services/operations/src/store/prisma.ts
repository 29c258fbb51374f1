import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type Db = PrismaClient;
/** The client handed to code running inside an interactive transaction. */
export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** One Prisma client per process, through the pg driver adapter (no native engine needed). */
export function createDb(connectionString: string, opts: { max?: number; onPoolError?: (err: Error) => void } = {}): Db {
  return new PrismaClient({
    // onPoolError: a dropped idle connection must not crash the process (see createPool).
    adapter: new PrismaPg(
      { connectionString, max: opts.max ?? 20, connectionTimeoutMillis: 3_000 },
      { onPoolError: (err) => opts.onPoolError?.(err) },
    ),
  });
}

/**
 * The Prisma client on a pool the caller made (createPool), so the service can read that pool's
 * use for its metrics; `$disconnect` ends the pool.
 */
export function createDbOnPool(pool: pg.Pool): Db {
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
}
