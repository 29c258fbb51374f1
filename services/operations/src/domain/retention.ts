import type { Clock, Logger } from '@platform/kit';
import type { SqlRunner } from '../store/sql.js';
import { deleteProcessedEvents, deleteSentOutbox } from '../store/retention.js';

/** What a consumed stream keeps: how long a message (or a duplicate of it) can still be delivered. */
export interface StreamHorizon {
  stream: string;
  /** The stream's max age; 0 = it keeps messages forever. */
  maxAgeMs: number;
  duplicateWindowMs: number;
}

export interface RetentionSettings {
  /** Sent outbox rows older than this (since sent) are deleted; 0 = kept forever. */
  outboxRetentionMs: number;
  /** Processed-event markers older than this are deleted (never inside the horizon, see markerCutoff); 0 = kept forever. */
  processedRetentionMs: number;
  /** Rows per DELETE statement. */
  batch: number;
  /** Statements per table per pass: what one pass may delete is bounded; the next pass goes on. */
  maxBatchesPerPass: number;
}

export interface RetentionDeps {
  sql: SqlRunner;
  clock: Clock;
  log: Logger;
  /** The streams whose events the markers guard, as the server has them now (may throw: NATS down). */
  horizons: () => Promise<StreamHorizon[]>;
}

/**
 * Sent outbox rows: nothing reads a row again once it is sent (the relay reads only unsent rows,
 * duplicates are caught by Nats-Msg-Id and by the consumers' markers, and the event store keeps its
 * own event ids), so the retention is only how long they stay for inspection. Unsent rows are
 * never deleted: the store's statement selects sent rows only.
 */
export function outboxCutoff(now: Date, s: Pick<RetentionSettings, 'outboxRetentionMs'>): Date | null {
  return s.outboxRetentionMs > 0 ? new Date(now.getTime() - s.outboxRetentionMs) : null;
}

/**
 * A processed-event marker is what makes a consumer idempotent, so it may go only once no copy of
 * its event can be delivered again: a redelivery (ack lost, nak, consumer restart) or a duplicate
 * published by a producer re-sending its outbox is a message IN the stream, and the stream drops a
 * message after its max age. A marker written at T guards every copy published up to T; all of
 * those are gone from the stream by T + max age. So a marker is kept for the longest of: the
 * configured retention, each consumed stream's max age, and its duplicate window. A stream that
 * keeps messages forever (max age 0), or horizons that cannot be read, mean no marker is deleted.
 */
export function markerCutoff(
  now: Date,
  s: Pick<RetentionSettings, 'processedRetentionMs'>,
  horizons: readonly StreamHorizon[] | null,
): Date | null {
  if (s.processedRetentionMs <= 0 || horizons === null || horizons.some((h) => h.maxAgeMs <= 0)) return null;
  const keepMs = Math.max(s.processedRetentionMs, ...horizons.flatMap((h) => [h.maxAgeMs, h.duplicateWindowMs]));
  return new Date(now.getTime() - keepMs);
}

export interface PruneResult {
  outboxDeleted: number;
  markersDeleted: number;
  outboxCutoff: Date | null;
  markerCutoff: Date | null;
}

/** Deletes in batches until a batch comes back short or the pass's budget is spent. */
async function inBatches(s: RetentionSettings, deleteBatch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < s.maxBatchesPerPass; i++) {
    const n = await deleteBatch();
    total += n;
    if (n < s.batch) break;
    // Let other work on this process (and its pool) in between statements.
    await new Promise((r) => setImmediate(r));
  }
  return total;
}

/** One pass over the outbox and the markers. */
export async function pruneOnce(deps: RetentionDeps, s: RetentionSettings): Promise<PruneResult> {
  const now = deps.clock();
  let horizons: StreamHorizon[] | null = null;
  if (s.processedRetentionMs > 0) {
    try {
      horizons = await deps.horizons();
    } catch (err) {
      deps.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'stream limits unknown; processed-event markers kept this pass',
      );
    }
    const forever = horizons?.filter((h) => h.maxAgeMs <= 0).map((h) => h.stream) ?? [];
    if (forever.length > 0)
      deps.log.warn(
        { streams: forever },
        'a consumed stream has no age limit, so processed-event markers are kept (they guard against its redeliveries)',
      );
  }
  const outbox = outboxCutoff(now, s);
  const markers = markerCutoff(now, s, horizons);
  const outboxDeleted = outbox ? await inBatches(s, () => deleteSentOutbox(deps.sql, outbox, s.batch)) : 0;
  const markersDeleted = markers ? await inBatches(s, () => deleteProcessedEvents(deps.sql, markers, s.batch)) : 0;
  return { outboxDeleted, markersDeleted, outboxCutoff: outbox, markerCutoff: markers };
}

export interface RetentionLoop {
  stop(): Promise<void>;
}

/**
 * Runs pruneOnce every `intervalMs` (the first pass shortly after start), never two at once;
 * every replica may run it: the deletes skip rows another replica is deleting.
 */
export function startRetentionLoop(deps: RetentionDeps, s: RetentionSettings, intervalMs: number): RetentionLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  const pass = () => {
    running = pruneOnce(deps, s)
      .then((r) => {
        if (r.outboxDeleted + r.markersDeleted > 0) deps.log.info(r, 'retention: pruned sent outbox rows and processed-event markers');
      })
      .catch((err: unknown) =>
        deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'retention pass failed; next pass retries'),
      )
      .finally(() => {
        running = null;
        if (!stopped) timer = setTimeout(pass, intervalMs);
      });
  };
  timer = setTimeout(pass, Math.min(intervalMs, 30_000));
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
