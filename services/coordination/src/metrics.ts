import { AgentStatus, COORDINATION_BUCKETS, JobPriority, JOBS_STREAM, JobType } from '@platform/contracts';

import {
  ageSeconds,
  cachedReading,
  consumerBacklogReading,
  observeConsumerLag,
  observeGauges,
  observeOutboxes,
  type NatsConnection,
  type OutboxBacklog,
} from '@platform/kit';
import type { AgentRecord } from './store/agent-record.js';
import type { KvCache } from './store/kv-cache.js';
import { HEARTBEATS_CONSUMER, HEARTBEATS_STREAM, jobConsumer } from '@platform/contracts';

/** The durable consumers coordination owns: the heartbeat batcher and one work queue per (job type, priority). */
export const COORDINATION_CONSUMERS = [
  { stream: HEARTBEATS_STREAM, consumer: HEARTBEATS_CONSUMER },
  ...JobType.options.flatMap((type) =>
    JobPriority.options.map((priority) => ({ stream: JOBS_STREAM, consumer: jobConsumer(type, priority) })),
  ),
];

const queueOf = new Map(
  JobType.options.flatMap((type) =>
    JobPriority.options.map((priority) => [jobConsumer(type, priority), { job_type: type, priority }] as const),
  ),
);

/** Agents per status, every status present (0 included) so a dashboard's sum never loses a series. */
export function agentsByStatus(records: Iterable<Pick<AgentRecord, 'status'>>): Record<AgentStatus, number> {
  const counts = Object.fromEntries(AgentStatus.options.map((s) => [s, 0])) as Record<AgentStatus, number>;
  for (const r of records) counts[r.status]++;
  return counts;
}

/**
 * Coordination's gauges beside the kit's request metrics: consumer lag (heartbeats and every work
 * queue), queue depth per job type and priority (the work queue's undelivered items, from the same
 * consumer info), agents by status (the registry's in-memory mirror, no round trip), and the
 * outbox markers still owed (one stream-info request per marker bucket: count and first timestamp,
 * no scan of the markers).
 */
export function observeCoordinationMetrics(deps: { nc: NatsConnection; agents: KvCache<AgentRecord>; now?: () => number }): void {
  const now = deps.now ?? Date.now;
  const consumers = consumerBacklogReading(deps.nc, COORDINATION_CONSUMERS);
  observeConsumerLag(consumers);
  observeGauges(consumers, [
    {
      name: 'platform_job_queue_depth',
      description: 'Jobs queued and not yet handed to an agent, by job type and priority',
      points: (all) =>
        all.flatMap((c) => {
          const queue = queueOf.get(c.consumer);
          return queue && c.stream === JOBS_STREAM ? [{ value: c.pending, attributes: queue }] : [];
        }),
    },
  ]);
  observeGauges(
    () => Promise.resolve(agentsByStatus(deps.agents.entries().map(([, v]) => v.record))),
    [
      {
        name: 'platform_agents',
        description: 'Registered agents by status',
        points: (counts) => Object.entries(counts).map(([status, value]) => ({ value, attributes: { status } })),
      },
    ],
  );
  observeOutboxes(
    cachedReading(
      async () => {
        const jsm = await deps.nc.jetstreamManager();
        const read = async (bucket: string): Promise<OutboxBacklog> => {
          const { state } = await jsm.streams.info(`KV_${bucket}`);
          return { backlog: state.messages, oldestAgeSeconds: state.messages > 0 ? ageSeconds(new Date(state.first_ts), now()) : 0 };
        };
        const [jobs, agents] = await Promise.all([read(COORDINATION_BUCKETS.jobsOutbox), read(COORDINATION_BUCKETS.agentsOutbox)]);
        return { jobs, agents };
      },
      { ttlMs: 5_000, timeoutMs: 2_000 },
    ),
  );
}
