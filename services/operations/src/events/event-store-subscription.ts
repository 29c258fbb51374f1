import type { Logger } from '@platform/kit';
import { readAll, type StoredEvent } from '../store/event-store.js';
import type { Db, Tx } from '../store/prisma.js';
import type { SqlRunner } from '../store/sql.js';
import { advanceCheckpoint, loadCheckpoint } from '../store/subscriptions.js';

export interface SubscriptionOptions {
  /** Prisma: the handler's transaction and the checkpoint. */
  db: Db;
  /** Reads the event store. */
  sql: SqlRunner;
  /** Durable name: the checkpoint is stored under it (event_subscriptions). */
  name: string;
  /** Where a brand-new subscription starts (global position; 0 = from the beginning). */
  from?: number;
  batchSize?: number;
  /** Live mode: how often to look for new events when nobody pokes. */
  pollMs?: number;
  log: Logger;
  /**
   * Handles a batch in global order, inside the transaction that also moves the checkpoint: database
   * effects and checkpoint commit together (exactly once); a throw rolls both back and the batch is
   * retried after a pause (effects outside the database must therefore be idempotent).
   */
  handler: (events: StoredEvent[], tx: Tx) => Promise<void>;
  /** Called once, when catch-up has reached the end of the store and the subscription goes live. */
  onLive?: () => void;
}

export interface RunningSubscription {
  /** Look for new events now (e.g. after an append in this process). */
  poke(): void;
  stop(): Promise<void>;
  readonly position: number;
  readonly live: boolean;
}

/** Another instance of this subscription moved the checkpoint first: reload it and carry on from there. */
class CheckpointMoved extends Error {}

/**
 * A subscription to the whole event store: catch-up (full batches back to back from the persisted
 * checkpoint) then live (wait for a poke or the poll interval). readAll never skips an in-flight
 * append, so advancing the checkpoint past what it returned never loses an event.
 */
export async function startSubscription(opts: SubscriptionOptions): Promise<RunningSubscription> {
  const batchSize = opts.batchSize ?? 100;
  const pollMs = opts.pollMs ?? 250;
  const log = opts.log.child({ subscription: opts.name });
  let position = await loadCheckpoint(opts.db, opts.name, opts.from ?? 0);
  let live = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = async () => {
    while (!stopped) {
      try {
        const page = await readAll(opts.sql, position, batchSize);
        if (page.events.length > 0) {
          const from = position;
          await opts.db.$transaction(async (tx) => {
            await opts.handler(page.events, tx);
            if (!(await advanceCheckpoint(tx, opts.name, from, page.nextPosition))) throw new CheckpointMoved();
          });
          position = page.nextPosition;
          if (page.events.length === batchSize) continue; // more to catch up
        }
        if (!live) {
          live = true;
          log.info({ position }, 'subscription caught up; live');
          opts.onLive?.();
        }
        await pause(pollMs);
      } catch (err) {
        if (err instanceof CheckpointMoved) {
          position = await loadCheckpoint(opts.db, opts.name, opts.from ?? 0);
          continue;
        }
        log.warn({ position, err: err instanceof Error ? err.message : String(err) }, 'subscription batch failed; retrying');
        await pause(Math.max(pollMs, 1_000));
      }
    }
  };
  const done = loop();

  return {
    poke: () => wake?.(),
    stop: async () => {
      stopped = true;
      wake?.();
      await done;
    },
    get position() {
      return position;
    },
    get live() {
      return live;
    },
  };
}
