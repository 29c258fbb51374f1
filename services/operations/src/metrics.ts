import { ageSeconds, cachedReading, consumerBacklogReading, observeConsumerLag, observeOutboxes, type NatsConnection } from '@platform/kit';
import type pg from 'pg';
import { outboxBacklog } from './store/outbox.js';
import { observePgPools } from './store/pool-metrics.js';
import type { SqlRunner } from './store/sql.js';
import { DURABLES, EVENT_STREAMS } from '@platform/contracts';

/** The durable consumers operations owns (both on coordination's event stream). */
export const OPERATIONS_CONSUMERS = [
  { stream: EVENT_STREAMS.coordination, consumer: DURABLES.operationsJobResults },
  { stream: EVENT_STREAMS.coordination, consumer: DURABLES.operationsAgentStuck },
];

/**
 * Operations' gauges beside the kit's request metrics: both Postgres pools (Prisma's and the
 * event store's), the outbox table's backlog, and the lag of the consumers it owns. Store reads
 * happen at scrape time, at most every few seconds, each given up after two seconds.
 */
export function observeOperationsMetrics(deps: {
  pools: Record<string, pg.Pool>;
  sql: SqlRunner;
  nc: NatsConnection;
  now?: () => number;
}): void {
  const now = deps.now ?? Date.now;
  observePgPools(deps.pools);
  observeOutboxes(
    cachedReading(
      async () => {
        const b = await outboxBacklog(deps.sql);
        return { operations: { backlog: b.backlog, oldestAgeSeconds: ageSeconds(b.oldest, now()) } };
      },
      { ttlMs: 5_000, timeoutMs: 2_000 },
    ),
  );
  observeConsumerLag(consumerBacklogReading(deps.nc, OPERATIONS_CONSUMERS));
}
