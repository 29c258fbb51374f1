import pg from 'pg';
import type { Db, Tx } from './prisma.js';

/**
 * A minimal SQL runner: one parameterised statement in, rows out. The hot paths — the event store's
 * statements and the saga orchestrator's per-step writes — run through it on node-postgres directly
 * (measured 2–4× the throughput of the same statements through Prisma's query interpreter on this
 * machine). The same SQL also runs inside a Prisma interactive transaction when an append must commit
 * with Prisma writes (prismaRunner). Everything else uses Prisma.
 */
export interface SqlRunner {
  /**
   * `name` makes node-postgres prepare the statement once per connection and reuse its parsed form
   * (the append statement's CTEs cost more to parse and plan than to run). Ignored by prismaRunner.
   */
  query<T extends object>(text: string, params?: readonly unknown[], name?: string): Promise<T[]>;
}

/** A pool: runs single statements, or several in one transaction. */
export interface SqlPool extends SqlRunner {
  /**
   * BEGIN (+ `opening`, a constant statement sent in the same round trip), fn, COMMIT — ROLLBACK when
   * fn throws. `opening` must never contain input: it is sent without parameters.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>, opening?: string): Promise<T>;
}

/** A pool as the service role; one per process beside the Prisma client. */
export function createPool(connectionString: string, opts: { max?: number; onError?: (err: Error) => void } = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: opts.max ?? 10, connectionTimeoutMillis: 3_000 });
  // An idle connection dropped by the server (restart, failover) emits 'error' on the pool; without
  // a listener node-postgres would crash the process. The pool replaces the connection by itself.
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}

const runnerOf = (c: pg.Pool | pg.PoolClient | pg.Client): SqlRunner => ({
  query: async <T extends object>(text: string, params: readonly unknown[] = [], name?: string) =>
    (await c.query<T & pg.QueryResultRow>({ text, values: [...params], ...(name ? { name } : {}) })).rows as T[],
});

export function poolRunner(pool: pg.Pool): SqlPool {
  return {
    ...runnerOf(pool),
    async transaction<T>(fn: (tx: SqlRunner) => Promise<T>, opening?: string): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client has no pool listener: a connection the server ends mid-transaction
      // (failover, restart, pg_terminate_backend) between two statements would emit an unhandled
      // 'error' and crash the process. Kept here instead, so the transaction fails and the
      // connection is discarded on release.
      const onError = (err: Error) => (broken = err);
      client.on('error', onError);
      try {
        await client.query(opening ? `BEGIN; ${opening}` : 'BEGIN');
        const result = await fn(runnerOf(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => (broken = e instanceof Error ? e : new Error(String(e))));
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken); // a connection that broke or could not even roll back is discarded
      }
    },
  };
}

/**
 * A pool-shaped runner over one session connection the caller owns. Statements queue on it in order,
 * so the caller runs one transaction at a time (the saga lease keeper does: a tick waits for the last).
 */
export function sessionRunner(client: pg.Client): SqlPool {
  const run = runnerOf(client);
  return {
    ...run,
    async transaction<T>(fn: (tx: SqlRunner) => Promise<T>, opening?: string): Promise<T> {
      await client.query(opening ? `BEGIN; ${opening}` : 'BEGIN');
      try {
        const result = await fn(run);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that cannot even roll back is broken: its owner sees it end and replaces it.
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
  };
}

/** Runs on a Prisma client or interactive transaction (row values as Prisma returns them: bigint as BigInt). */
export function prismaRunner(conn: Db | Tx): SqlRunner {
  return { query: <T extends object>(text: string, params: readonly unknown[] = []) => conn.$queryRawUnsafe<T[]>(text, ...params) };
}

export const isSqlRunner = (x: unknown): x is SqlRunner => typeof (x as { query?: unknown }).query === 'function';
