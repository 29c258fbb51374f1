import { conflict, notFound, publishJson, type JetStreamClient, type Logger } from '@platform/kit';
import type { OutboxStore, WithOutbox } from '../store/outbox-store.js';
import { RevisionConflict, type Versioned } from '../store/typed-kv.js';

interface OutboxDeps {
  js: JetStreamClient;
  log: Logger;
}

/** Returned by a change function that finds nothing to do: the record is left as it is. */
export const UNCHANGED = Symbol('unchanged');

/**
 * Applies `change` with compare-and-set, re-reading and re-applying on concurrent writers, then
 * sends the record's outbox. `change` may throw a DomainError (the caller's answer) or return
 * UNCHANGED. Two replicas applying the same transition: one wins, the other re-reads and sees it done.
 */
export async function mutateRecord<T extends WithOutbox>(
  deps: OutboxDeps,
  store: OutboxStore<T>,
  what: string,
  key: string,
  change: (current: T) => T | typeof UNCHANGED,
  /** The record as the caller just read it (saves a read; a stale one costs a retry). */
  initial?: Versioned<T>,
): Promise<{ record: T; revision: number; changed: boolean }> {
  for (let i = 0; i < 8; i++) {
    const found = i === 0 && initial ? initial : await store.get(key);
    if (!found) throw notFound(what, key);
    const next = change(found.record);
    if (next === UNCHANGED) return { ...found, changed: false };
    let revision: number;
    try {
      revision = await store.update(key, next, found.revision);
    } catch (err) {
      if (err instanceof RevisionConflict) continue;
      throw err;
    }
    const flushed = await flushRecord(deps, store, key, { record: next, revision });
    return { record: flushed?.record ?? next, revision: flushed?.revision ?? revision, changed: true };
  }
  throw conflict(`${what} ${key} is changing too fast; retry`);
}

/**
 * Publishes what a record owes (work items, events) in order, with stable message ids, then
 * removes the sent entries. A crash in between re-sends on the next sweep and JetStream drops the
 * duplicates inside its window (consumers dedupe by event id beyond it).
 */
export async function flushRecord<T extends WithOutbox>(deps: OutboxDeps, store: OutboxStore<T>, key: string, known?: Versioned<T>): Promise<Versioned<T> | null> {
  let current = known ?? (await store.get(key));
  const sent = new Set<string>();
  for (let i = 0; i < 8 && current; i++) {
    if (current.record.outbox.length === 0) {
      await store.clearPending(key);
      return current;
    }
    for (const m of current.record.outbox) {
      if (sent.has(m.msgId)) continue;
      await publishJson(deps.js, m.subject, m.payload, m.msgId);
      sent.add(m.msgId);
    }
    const rest = current.record.outbox.filter((m) => !sent.has(m.msgId));
    const next = { ...current.record, outbox: rest };
    try {
      const revision = await store.update(key, next, current.revision);
      current = { record: next, revision };
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
  for (const key of keys) {
    try {
      const left = await flushRecord(deps, store, key);
      if (!left) await store.clearPending(key);
    } catch (err) {
      deps.log.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'outbox flush failed; will retry');
    }
  }
  return keys.length;
}
