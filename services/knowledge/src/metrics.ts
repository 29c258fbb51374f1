import {
  ageSeconds,
  cachedReading,
  consumerBacklogReading,
  observeConsumerLag,
  observeOutboxes,
  type ConsumerBacklog,
  type NatsConnection,
} from '@platform/kit';
import { RUN_RECORDER_DURABLES } from './events/recorder.js';
import { observeNeo4jPool } from './store/neo4j-metrics.js';
import type { Graph } from './store/neo4j.js';
import { outboxBacklog } from './store/outbox.js';

/**
 * Knowledge's gauges beside the kit's request metrics: Neo4j use against the pool size, the outbox
 * nodes not yet relayed, and the lag of the run recorder's durable consumers (once NATS was reached).
 */
export function observeKnowledgeMetrics(graph: Graph, opts: { now?: () => number; nats?: () => NatsConnection | undefined } = {}): void {
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
  let lag: (() => Promise<ConsumerBacklog[] | undefined>) | undefined;
  const recorderConsumers = Object.values(RUN_RECORDER_DURABLES).map((d) => ({ stream: d.stream, consumer: d.durable }));
  observeConsumerLag(async () => {
    const nc = opts.nats?.();
    if (!nc) return undefined;
    lag ??= consumerBacklogReading(nc, recorderConsumers);
    return lag();
  });
}
