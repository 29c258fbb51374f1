import { pullBatch, type JetStreamClient } from '@platform/kit';
import type { HeartbeatInbox } from '../domain/deps.js';
import { HEARTBEATS_CONSUMER, HEARTBEATS_STREAM } from '@platform/contracts';

/**
 * The heartbeats' edge: takes what agents published over NATS from the durable the replicas share
 * (no acks: a heartbeat lost with a dying replica is replaced by the next), for domain/heartbeats.ts
 * to check and record.
 */
export function natsHeartbeatInbox(js: JetStreamClient): HeartbeatInbox {
  return {
    async take(max) {
      const batch = await pullBatch(js, HEARTBEATS_STREAM, HEARTBEATS_CONSUMER, max);
      // When the stream stored it: what a heartbeat proves is that the agent was alive then.
      return batch.map((m) => ({ subject: m.subject, body: m.string(), storedAt: Math.floor(m.info.timestampNanos / 1e6) }));
    },
  };
}
