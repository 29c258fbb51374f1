import { publishJson, type JetStreamClient, type Logger } from '@platform/kit';
import type { Background } from '../domain/background.js';
import type { OutboxSender } from '../domain/deps.js';
import type { OutboxStore, WithOutbox } from '../store/outbox-store.js';
import type { Versioned } from '../store/typed-kv.js';

/**
 * The outbox's edge: what publishes the messages records owe to JetStream. The domain writes
 * them into records (with a marker) and hands the written record to the OutboxSender port; this
 * module is the only one that publishes them.
 */
interface RelayDeps {
  js: JetStreamClient;
  log: Logger;
  background: Background;
}

/**
 * The OutboxSender the domain is given: sends a just-written record's outbox without making the
 * caller wait (the record and its marker are durable, so if this process dies first the outbox
 * sweep, on any replica, sends it).
 */
export function outboxRelay(deps: RelayDeps): OutboxSender {
  return {
    send(store, key, written, marker, afterSent) {
      if (written.record.outbox.length === 0 && !afterSent) return;
      deps.background.run(`outbox ${key}`, async () => {
        await flushRecord(deps, store, key, written, marker);
        await afterSent?.();
      });
    },
    async flush(store, key) {
      await flushRecord(deps, store, key, undefined, null);
    },
  };
}

/**
 * Publishes what a record owes (work items, events) in order, with stable message ids, then
 * removes the marker written with them (`marker`; a newer writer's marker stays). The record is
 * not written again: the next change drops the sent entries. A crash before the marker is
 * removed makes the sweep re-send, and JetStream drops the duplicates inside its window
 * (consumers dedupe by event id beyond it; a stale work item is dropped when pulled).
 */
export async function flushRecord<T extends WithOutbox>(
  deps: RelayDeps,
  store: OutboxStore<T>,
  key: string,
  known: Versioned<T> | undefined,
  marker: number | null,
): Promise<Versioned<T> | null> {
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
export async function sweepOutbox<T extends WithOutbox>(
  deps: RelayDeps,
  store: OutboxStore<T>,
  minAgeMs: number,
  now: Date,
): Promise<number> {
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
