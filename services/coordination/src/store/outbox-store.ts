import type { JetStreamClient } from '@platform/kit';
import { z } from 'zod';
import { openTypedKv, type TypedKv, type Versioned } from './typed-kv.js';

/** A message a record still owes to JetStream: written with the state change, cleared once sent. */
export const PendingMessage = z.object({ subject: z.string(), msgId: z.string(), payload: z.string() });
export type PendingMessage = z.infer<typeof PendingMessage>;

export interface WithOutbox {
  outbox: PendingMessage[];
}

/**
 * Records that carry their own outbox (the event written in the same KV write as the state
 * change), plus a marker bucket listing the keys that may still owe messages, so a sweep can
 * send what a crash or a NATS outage left unsent without reading every record.
 */
export interface OutboxStore<T extends WithOutbox> {
  readonly records: TypedKv<T>;
  get(key: string): Promise<Versioned<T> | null>;
  create(key: string, record: T): Promise<number>;
  update(key: string, record: T, revision: number): Promise<number>;
  /** Keys whose marker is at least `minAgeMs` old (younger ones are being flushed by their writer). */
  pendingKeys(minAgeMs: number, now: Date): Promise<string[]>;
  /** Removes the key's marker unless the record owes messages again (a writer raced the flush). */
  clearPending(key: string): Promise<void>;
}

export async function openOutboxStore<T extends WithOutbox>(js: JetStreamClient, bucket: string, markerBucket: string, schema: z.ZodType<T>): Promise<OutboxStore<T>> {
  const records = await openTypedKv(js, bucket, schema);
  const markers = await openTypedKv(js, markerBucket, z.unknown());
  // The marker is written before the record, so a crash between the two leaves at worst a
  // marker for a record with nothing to send, which the sweep clears.
  const mark = async (key: string, record: T) => {
    if (record.outbox.length > 0) await markers.put(key, 1);
  };
  return {
    records,
    get: (key) => records.get(key),
    async create(key, record) {
      await mark(key, record);
      return records.create(key, record);
    },
    async update(key, record, revision) {
      await mark(key, record);
      return records.update(key, record, revision);
    },
    async pendingKeys(minAgeMs, now) {
      const all = await markers.scan();
      return all.filter((m) => now.getTime() - m.created.getTime() >= minAgeMs).map((m) => m.key);
    },
    async clearPending(key) {
      await markers.delete(key);
      const fresh = await records.get(key);
      if (fresh && fresh.record.outbox.length > 0) await markers.put(key, 1);
    },
  };
}
