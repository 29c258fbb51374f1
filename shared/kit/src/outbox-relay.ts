import type { JetStreamClient } from 'nats';
import type { Logger } from './logger.js';
import { startDrainLoop, type DrainLoop } from './drain-loop.js';
import { publishEnvelope } from './nats.js';
import type { OutboxSignal } from './outbox-signal.js';

export interface OutboxSource {
  /** Oldest unpublished events first; `json` is the serialized envelope. */
  pending(limit: number): Promise<Array<{ id: string; json: string }>>;
  markPublished(ids: string[]): Promise<void>;
}

export type OutboxRelay = DrainLoop;

/**
 * Relays an outbox (Postgres table or Neo4j nodes) to JetStream. Events are published with
 * Nats-Msg-Id = event id before being marked, so a crash between the two re-sends and the
 * server (and idempotent consumers) drop the duplicate: at-least-once, never lost.
 *
 * `signal` is how it hears of committed writes (rung by the store, never by a router); `intervalMs`
 * is the safety-net poll for a ring that was lost.
 */
export function startOutboxRelay(opts: {
  source: OutboxSource;
  signal: OutboxSignal;
  js: JetStreamClient;
  log: Logger;
  intervalMs: number;
  batch?: number;
}): OutboxRelay {
  const batch = opts.batch ?? 100;
  return startDrainLoop({
    name: 'outbox relay',
    intervalMs: opts.intervalMs,
    log: opts.log,
    signal: opts.signal,
    drain: async () => {
      const events = await opts.source.pending(batch);
      if (events.length === 0) return false;
      const done: string[] = [];
      try {
        for (const e of events) {
          const envelope = JSON.parse(e.json) as { id: string; subject: string; traceparent?: string };
          await publishEnvelope(opts.js, envelope);
          done.push(e.id);
        }
      } finally {
        if (done.length > 0) await opts.source.markPublished(done);
      }
      return events.length === batch;
    },
  });
}
