import type { NatsConnection } from 'nats';
import { cachedReading, observeGauges } from './metrics.js';

/** A durable consumer a service owns, by stream and durable name. */
export interface OwnedConsumer {
  stream: string;
  consumer: string;
}

/** What a consumer has not finished: messages not yet delivered, and delivered but not yet acknowledged. */
export interface ConsumerBacklog extends OwnedConsumer {
  pending: number;
  ackPending: number;
}

/**
 * Reads every listed consumer's info (one JetStream API request each, in parallel), at most once
 * per `ttlMs`, given up after `timeoutMs`. A consumer whose info fails (not created yet, NATS
 * away) is left out of that reading instead of failing the others.
 */
export function consumerBacklogReading(
  nc: NatsConnection,
  consumers: readonly OwnedConsumer[],
  opts: { ttlMs?: number; timeoutMs?: number } = {},
): () => Promise<ConsumerBacklog[] | undefined> {
  return cachedReading(
    async () => {
      const jsm = await nc.jetstreamManager();
      const infos = await Promise.all(
        consumers.map(async (c) => {
          try {
            const info = await jsm.consumers.info(c.stream, c.consumer);
            return { ...c, pending: info.num_pending, ackPending: info.num_ack_pending };
          } catch {
            return null;
          }
        }),
      );
      return infos.filter((i): i is ConsumerBacklog => i !== null);
    },
    { ttlMs: opts.ttlMs ?? 5_000, timeoutMs: opts.timeoutMs ?? 2_000 },
  );
}

/** `platform_jetstream_consumer_lag` (pending + ack pending) and `platform_jetstream_consumer_ack_pending`, by stream and consumer. */
export function observeConsumerLag(reading: () => Promise<ConsumerBacklog[] | undefined>): void {
  const labels = (c: ConsumerBacklog) => ({ stream: c.stream, consumer: c.consumer });
  observeGauges(reading, [
    {
      name: 'platform_jetstream_consumer_lag',
      description: 'Messages a durable consumer has not finished: num_pending + num_ack_pending',
      points: (all) => all.map((c) => ({ value: c.pending + c.ackPending, attributes: labels(c) })),
    },
    {
      name: 'platform_jetstream_consumer_ack_pending',
      description: 'Messages delivered to a durable consumer and not yet acknowledged',
      points: (all) => all.map((c) => ({ value: c.ackPending, attributes: labels(c) })),
    },
  ]);
}
