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
 * applying the same transition: one wins, the other re-reads and sees it done. `change` sees the
 * record without the outbox entries this process already sent (see SentLog), so the outbox it
 * writes holds what may still be owed plus the change's own. Returns once the change (with its
 * outbox and marker) is recorded; the outbox is sent in the background (see sendOutbox).
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
    const next = change(unsent(store, found.record));
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

/** The record with only the outbox entries this process has not sent (the rest are history). */
function unsent<T extends WithOutbox>(store: OutboxStore<T>, record: T): T {
  return record.outbox.some((m) => store.sent.has(m.msgId)) ? { ...record, outbox: record.outbox.filter((m) => !store.sent.has(m.msgId)) } : record;
}

/**
 * Sends a just-written record's outbox without making the caller wait: the record and its
 * marker are durable, so if this process dies first the outbox sweep (any replica) sends it.
 */
export function sendOutbox<T extends WithOutbox>(deps: OutboxDeps, store: OutboxStore<T>, key: string, written: Versioned<T>, marker: number | null): void {
  if (written.record.outbox.length === 0) return;
  deps.background.run(`outbox ${key}`, () => flushRecord(deps, store, key, written, marker));
}

/**
 * Publishes what a record owes (work items, events) in order, with stable message ids, then
 * removes the marker written with them (`marker`; a newer writer's marker stays). The record is
 * not written again: the next change drops the sent entries. A crash before the marker is
 * removed makes the sweep re-send, and JetStream drops the duplicates inside its window
 * (consumers dedupe by event id beyond it; a stale work item is dropped when pulled).
 */
export async function flushRecord<T extends WithOutbox>(deps: OutboxDeps, store: OutboxStore<T>, key: string, known: Versioned<T> | undefined, marker: number | null): Promise<Versioned<T> | null> {
  const current = known ?? (await store.get(key));
  for (const m of current?.record.outbox ?? []) {
    if (store.sent.has(m.msgId)) continue;
    await publishJson(deps.js, m.subject, m.payload, m.msgId, m.traceparent);
    store.sent.add(m.msgId);
  }
  if (marker !== null) await store.clearPending(key, marker);
  return current;
}

/** Sends what records still owe (after a crash, or a NATS outage during a write). Returns how many were flushed. */
export async function sweepOutbox<T extends WithOutbox>(deps: OutboxDeps, store: OutboxStore<T>, minAgeMs: number, now: Date): Promise<number> {
  const keys = await store.pendingKeys(minAgeMs, now);
  for (const { key, marker } of keys) {
    try {
      await flushRecord(deps, store, key, undefined, marker);
    } catch (err) {
      deps.log.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'outbox flush failed; will retry');
    }
  }
  return keys.length;
}
