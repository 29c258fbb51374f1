import { conflict, notFound } from '@platform/kit';
import type { OutboxStore, WithOutbox, Written } from '../store/outbox-store.js';
import { RevisionConflict, type Versioned } from '../store/typed-kv.js';
import type { OutboxSender } from './deps.js';

interface OutboxDeps {
  /** Sends what the written record owes (the edge publishes; this module only writes). */
  outbox: OutboxSender;
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
  /**
   * The job's lease covers the change instead of an outbox marker: the lease was written before the
   * change and is removed only after its outbox is published (`afterSent`), and the lease sweep
   * publishes a job's outbox before it removes a lease a crash left (liveness.ts). Saves the
   * marker's write and removal on the two busiest transitions (started, succeeded).
   */
  coveredByLease?: { afterSent?: () => Promise<unknown> };
}

/**
 * Applies `change` with compare-and-set, re-reading and re-applying on concurrent writers.
 * `change` may throw a DomainError (the caller's answer) or return UNCHANGED. Two replicas
 * applying the same transition: one wins, the other re-reads and sees it done. `change` sees the
 * record without the outbox entries this process already sent (see SentLog), so the outbox it
 * writes holds what may still be owed plus the change's own. Returns once the change (with its
 * outbox and marker) is recorded; the outbox is sent in the background (see OutboxSender).
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
  // Without a record from the caller, the version this process last saw is tried first (no read):
  // its write fails the compare-and-set if it is stale, and a refusal or "nothing to do" decided on
  // it is decided again on a fresh read, so only a write it proves current comes of it.
  let guess = opts.initial ? null : store.recent.get(key);
  for (let i = 0, reads = 0; reads < 8; i++) {
    let found: Versioned<T> | null;
    const guessed = guess !== null;
    if (i === 0 && opts.initial) found = opts.initial;
    else if (guess)
      found = guess; // its write marks first (store.update), like an unmarked change
    else if (!opts.coveredByLease && opts.premark !== undefined && (reads > 0 || opts.premark === true)) {
      [found, marker] = await Promise.all([store.get(key), store.mark(key)]);
    } else found = await store.get(key);
    guess = null;
    if (!guessed) reads++;
    if (!found) throw notFound(what, key);
    let next: T | typeof UNCHANGED;
    try {
      next = change(unsent(store, found.record));
    } catch (err) {
      if (guessed) continue;
      throw err;
    }
    if (next === UNCHANGED) {
      if (guessed) continue;
      return { ...found, changed: false };
    }
    let written: Written;
    try {
      written = await store.update(
        key,
        next,
        found.revision,
        opts.coveredByLease ? null : next.outbox.length > 0 && !guessed ? marker : undefined,
      );
    } catch (err) {
      if (err instanceof RevisionConflict) continue;
      throw err;
    }
    deps.outbox.send(store, key, { record: next, revision: written.revision }, written.marker, opts.coveredByLease?.afterSent);
    return { record: next, revision: written.revision, changed: true };
  }
  throw conflict(`${what} ${key} is changing too fast; retry`);
}

/** The record with only the outbox entries this process has not sent (the rest are history). */
function unsent<T extends WithOutbox>(store: OutboxStore<T>, record: T): T {
  return record.outbox.some((m) => store.sent.has(m.msgId))
    ? { ...record, outbox: record.outbox.filter((m) => !store.sent.has(m.msgId)) }
    : record;
}
