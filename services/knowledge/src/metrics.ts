import { ageSeconds, cachedReading, observeOutboxes } from '@platform/kit';
import { observeNeo4jPool } from './store/neo4j-metrics.js';
import type { Graph } from './store/neo4j.js';
import { outboxBacklog } from './store/outbox.js';

/**
 * Knowledge's gauges beside the kit's request metrics: Neo4j use against the pool size, and the
 * outbox nodes not yet relayed. Knowledge owns no JetStream consumer, so it has no lag to report.
 */
export function observeKnowledgeMetrics(graph: Graph, opts: { now?: () => number } = {}): void {
  const now = opts.now ?? Date.now;
  observeNeo4jPool();
  observeOutboxes(
    cachedReading(
      async () => {
        const b = await outboxBacklog(graph);
        return { knowledge: { backlog: b.backlog, oldestAgeSeconds: ageSeconds(b.oldestMs, now()) } };
      },
      { ttlMs: 5_000, timeoutMs: 2_000 },
    ),
  );
}
