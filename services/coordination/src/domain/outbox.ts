import { conflict, notFound, publishJson, type JetStreamClient, type Logger } from '@platform/kit';
import type { OutboxStore, WithOutbox, Written } from '../store/outbox-store.js';
import type { Background } from './background.js';
import { RevisionConflict, type Versioned } from '../store/typed-kv.js';

interface OutboxDeps {
  js: JetStreamClient;
  log: Logger;
  background: Background;
}

/** Returned by a change function that finds nothing to do: the record is left as it is. */
export const UNCHANGED = Symbol('unchanged');

export interface MutateOptions<T> {
  /** The record as the caller just read it (saves a read; a stale one costs a retry). */
  initial?: Versioned<T>;
  /**
   * The change will owe messages: write the outbox marker while reading (one round trip less),
   * or pass the revision of a marker already written (first attempt; retries write a new one).
   */
  premark?: true | number;
}

/**
 * Applies `change` with compare-and-set, re-reading and re-applying on concurrent writers.
 * `change` may throw a DomainError (the caller's answer) or return UNCHANGED. Two replicas
 * applying the same transition: one wins, the other re-reads and sees it done. Returns once the
 * change (with its outbox and marker) is recorded; the outbox is sent in the background (see
 * sendOutbox).
 */
export async function mutateRecord<T extends WithOutbox>(
  deps: OutboxDeps,
  store: OutboxStore<T>,
  what: string,
  key: string,
  change: (current: T) => T | typeof UNCHANGED,
  opts: MutateOptions<T> = {},
): Promise<{ record: T; revision: number; changed: boolean }> {
  // A marker written for a change that then does not happen is left to the outbox sweep (it finds
  // nothing owed and removes it): removing it here could remove the only marker of a concurrent
  // writer whose record write is in flight (markers supersede each other, history 1).
  let marker: number | undefined = typeof opts.premark === 'number' ? opts.premark : undefined;
  for (let i = 0; i < 8; i++) {
    let found: Versioned<T> | null;
    if (i === 0 && opts.initial) found = opts.initial;
    else if (opts.premark !== undefined && (i > 0 || opts.premark === true)) [found, marker] = await Promise.all([store.get(key), store.mark(key)]);
    else found = await store.get(key);
    if (!found) throw notFound(what, key);
    const next = change(found.record);
    if (next === UNCHANGED) return { ...found, changed: false };
    let written: Written;
    try {
      written = await store.update(key, next, found.revision, next.outbox.length > 0 ? marker : undefined);
    } catch (err) {
      if (err instanceof RevisionConflict) continue;
      throw err;
    }
    sendOutbox(deps, store, key, { record: next, revision: written.revision }, written.marker);
    return { record: next, revision: written.revision, changed: true };
  }
  throw conflict(`${what} ${key} is changing too fast; retry`);
}

/**
 * Sends a just-written record's outbox without making the caller wait: the record and its
 * marker are durable, so if this process dies first the outbox sweep (any replica) sends it.
 * Order is kept per record: every flush sends the oldest unsent entries first.
 */
export function sendOutbox<T extends WithOutbox>(deps: OutboxDeps, store: OutboxStore<T>, key: string, written: Versioned<T>, marker: number | null): void {
  if (written.record.outbox.length === 0) return;
  deps.background.run(`outbox ${key}`, () => flushRecord(deps, store, key, written, marker));
}

/**
 * Publishes what a record owes (work items, events) in order, with stable message ids, then
 * removes the sent entries and the marker written with them (`marker`). A crash in between
 * re-sends on the next sweep and JetStream drops the duplicates inside its window (consumers
 * dedupe by event id beyond it).
 */
export async function flushRecord<T extends WithOutbox>(deps: OutboxDeps, store: OutboxStore<T>, key: string, known: Versioned<T> | undefined, marker: number | null): Promise<Versioned<T> | null> {
  let current = known ?? (await store.get(key));
  const sent = new Set<string>();
  for (let i = 0; i < 8 && current; i++) {
    if (current.record.outbox.length === 0) {
      if (marker !== null) await store.clearPending(key, marker);
      return current;
    }
    for (const m of current.record.outbox) {
      if (sent.has(m.msgId)) continue;
      await publishJson(deps.js, m.subject, m.payload, m.msgId, m.traceparent);
      sent.add(m.msgId);
    }
    const rest = current.record.outbox.filter((m) => !sent.has(m.msgId));
    const next = { ...current.record, outbox: rest };
    try {
      // Everything is sent: clearing the outbox and removing the marker are independent (a crash
      // between them costs at most a deduplicated re-send).
      const [{ revision }] = await Promise.all([store.update(key, next, current.revision), rest.length === 0 && marker !== null ? store.clearPending(key, marker) : null]);
      current = { record: next, revision };
      if (rest.length === 0) return current;
    } catch (err) {
      if (!(err instanceof RevisionConflict)) throw err;
      current = await store.get(key);
    }
  }
  return current;
}

/** Sends what records still owe (after a crash, or a NATS outage during a write). Returns how many were flushed. */
export async function sweepOutbox<T extends WithOutbox>(deps: OutboxDeps, store: OutboxStore<T>, minAgeMs: number, now: Date): Promise<number> {
  const keys = await store.pendingKeys(minAgeMs, now);
  for (const { key, marker } of keys) {
    try {
      const left = await flushRecord(deps, store, key, undefined, marker);
      if (!left) await store.clearPending(key, marker);
    } catch (err) {
      deps.log.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'outbox flush failed; will retry');
    }
  }
  return keys.length;
}
