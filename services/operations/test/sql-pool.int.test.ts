import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPool, poolRunner } from '../src/store/sql.js';
import { requireStores } from './support/scratch.js';

// A connection the server ends while a transaction holds it (a failover, a restart, an operator's
// pg_terminate_backend) must fail that transaction, not crash the process with an unhandled
// 'error' event (found by tests/drills/replicas.e2e.test.ts, where it took a replica down).
let pool: pg.Pool;
let other: pg.Client;
const poolErrors: Error[] = [];

beforeAll(async () => {
  const env = requireStores('DATABASE_URL');
  pool = createPool(env['DATABASE_URL']!, { max: 2, onError: (err) => poolErrors.push(err) });
  // The same role may end its own backends (no superuser needed).
  other = new pg.Client({ connectionString: env['DATABASE_URL'] });
  await other.connect();
});
afterAll(async () => {
  await other?.end();
  await pool?.end();
});

it('fails the transaction whose connection the server ends, and the pool goes on', async () => {
  const uncaught: Error[] = [];
  const onUncaught = (err: Error) => uncaught.push(err);
  // Vitest reports uncaught errors too; listening here lets the test assert there were none.
  process.on('uncaughtException', onUncaught);
  try {
    const runner = poolRunner(pool);
    const outcome = await runner
      .transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await other.query('SELECT pg_terminate_backend($1)', [row!.pid]);
        await new Promise((r) => setTimeout(r, 300)); // the termination arrives between two statements
        await tx.query('SELECT 1');
        return 'committed';
      })
      .catch((err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`);
    expect(outcome).toMatch(/^failed: /);
    expect(uncaught).toEqual([]);
    // The broken connection was discarded: the next transaction gets a working one.
    expect(await runner.transaction(async (tx) => (await tx.query<{ one: number }>('SELECT 1 AS one'))[0]!.one)).toBe(1);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});
