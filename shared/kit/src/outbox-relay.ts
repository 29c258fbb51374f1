import type { JetStreamClient } from 'nats';
import type { Logger } from './logger.js';
import { publishEnvelope } from './nats.js';

export interface OutboxSource {
  /** Oldest unpublished events first; `json` is the serialized envelope. */
  pending(limit: number): Promise<Array<{ id: string; json: string }>>;
  markPublished(ids: string[]): Promise<void>;
}

export interface OutboxRelay {
  /** Ask for a pass now (after a commit) instead of waiting for the next tick. */
  poke(): void;
  stop(): Promise<void>;
}

/**
 * Relays an outbox (Postgres table or Neo4j nodes) to JetStream. Events are published with
 * Nats-Msg-Id = event id before being marked, so a crash between the two re-sends and the
 * server (and idempotent consumers) drop the duplicate: at-least-once, never lost.
 */
export function startOutboxRelay(opts: { source: OutboxSource; js: JetStreamClient; log: Logger; intervalMs: number; batch?: number }): OutboxRelay {
  const batch = opts.batch ?? 100;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;

  const pass = async () => {
    do {
      again = false;
      const events = await opts.source.pending(batch);
      if (events.length === 0) return;
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
      if (events.length === batch) again = true;
    } while (again && !stopped);
  };

  const tick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .catch((err: unknown) => opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox relay pass failed; will retry'))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, opts.intervalMs);
  tick();
  return {
    poke: tick,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
