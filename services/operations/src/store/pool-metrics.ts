import { latencyHistogram, observeGauges } from '@platform/kit';
import type pg from 'pg';

/**
 * The node-postgres pools' use, read from the pools themselves at scrape time (totalCount,
 * idleCount, waitingCount: plain fields, no query), and how long each checkout holds a connection
 * (pool 'acquire' → 'release': one statement, or a whole transaction), the Postgres latency a
 * call sees from this process. `pools` maps a bounded pool name to its pool.
 */
export function observePgPools(pools: Record<string, pg.Pool>): void {
  const checkout = latencyHistogram(
    'platform_pg_checkout_duration_seconds',
    'Time a pooled Postgres connection is held per checkout (a statement or a transaction), by pool',
  );
  for (const [pool, p] of Object.entries(pools)) {
    const acquiredAt = new WeakMap<pg.PoolClient, number>();
    p.on('acquire', (client) => acquiredAt.set(client, performance.now()));
    p.on('release', (_err, client) => {
      const at = acquiredAt.get(client);
      if (at !== undefined) checkout.record((performance.now() - at) / 1_000, { pool });
    });
  }
  const entries = Object.entries(pools);
  const reading = () => Promise.resolve(entries);
  observeGauges(reading, [
    {
      name: 'platform_pg_pool_connections',
      description: 'Postgres pool connections by state (active = checked out, idle = open and free)',
      points: (all) =>
        all.flatMap(([pool, p]) => [
          { value: p.totalCount - p.idleCount, attributes: { pool, state: 'active' } },
          { value: p.idleCount, attributes: { pool, state: 'idle' } },
        ]),
    },
    {
      name: 'platform_pg_pool_waiting',
      description: 'Checkouts waiting for a free Postgres pool connection',
      points: (all) => all.map(([pool, p]) => ({ value: p.waitingCount, attributes: { pool } })),
    },
    {
      name: 'platform_pg_pool_max',
      description: 'Postgres pool size (max connections)',
      points: (all) => all.map(([pool, p]) => ({ value: p.options.max, attributes: { pool } })),
    },
  ]);
}
