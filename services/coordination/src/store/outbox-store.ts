import type { JetStreamClient } from '@platform/kit';
import { z } from 'zod';
import { openTypedKv, type TypedKv, type Versioned } from './typed-kv.js';

/** A message a record still owes to JetStream: written with the state change, cleared once sent. */
/** `traceparent`: the trace of the change that wrote the message, restored when it is published later. */
export const PendingMessage = z.object({ subject: z.string(), msgId: z.string(), payload: z.string(), traceparent: z.string().optional() });
export type PendingMessage = z.infer<typeof PendingMessage>;

export interface WithOutbox {
  outbox: PendingMessage[];
}

/**
 * Records that carry their own outbox (the event written in the same KV write as the state
 * change), plus a marker bucket listing the keys that may still owe messages, so a sweep can
 * send what a crash or a NATS outage left unsent without reading every record.
 */
/** A write: the record's new revision, and the revision of the marker written with it (null when it owes nothing). */
export interface Written {
  revision: number;
  marker: number | null;
}

/**
 * The outbox entries this process has published (message ids; bounded, oldest forgotten first).
 * A record keeps its entries after they are sent — clearing them would cost a second
 * compare-and-set per change, racing the next change — and the next change drops the ones listed
 * here. Entries another replica sent are carried and re-sent once, which JetStream deduplicates.
 */
export class SentLog {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 50_000) {}

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}

/**
 * The last version of each record this process wrote or read (bounded, least recently touched
 * forgotten first): a guess that saves the read before a compare-and-set. Never trusted: a write
 * built on a stale guess fails its compare-and-set, and a decision that would not write (a refusal,
 * nothing to do) is taken again on a fresh read (see mutateRecord).
 */
export class RecentRecords<T> {
  private readonly entries = new Map<string, Versioned<T>>();

  constructor(private readonly max = 5_000) {}

  remember(key: string, version: Versioned<T>): void {
    const known = this.entries.get(key);
    if (known && known.revision > version.revision) return; // an older read arriving late
    this.entries.delete(key);
    this.entries.set(key, version);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  get(key: string): Versioned<T> | null {
    return this.entries.get(key) ?? null;
  }
}

export interface OutboxStore<T extends WithOutbox> {
  readonly records: TypedKv<T>;
  /** What this process has already published of these records' outboxes. */
  readonly sent: SentLog;
  /** What this process last wrote or read of each record: a guess, see RecentRecords. */
  readonly recent: RecentRecords<T>;
  get(key: string): Promise<Versioned<T> | null>;
  create(key: string, record: T): Promise<Written>;
  /**
   * Compare-and-set. The marker is written first — unless `marker` is the revision of one
   * written for this change already (see mark), or null: the change is covered by another record
   * that outlives its send (a job's lease: see mutateRecord's `coveredByLease`).
   */
  update(key: string, record: T, revision: number, marker?: number | null): Promise<Written>;
  /** Writes the key's marker now (a caller that will change the record writes it while reading). */
  mark(key: string): Promise<number>;
  /** Markers at least `minAgeMs` old (younger ones are being flushed by their writer). */
  pendingKeys(minAgeMs: number, now: Date): Promise<Array<{ key: string; marker: number }>>;
  /** Removes the marker written at `marker`; a newer one, from a racing writer, stays. */
  clearPending(key: string, marker: number): Promise<void>;
}

export async function openOutboxStore<T extends WithOutbox>(
  js: JetStreamClient,
  bucket: string,
  markerBucket: string,
  schema: z.ZodType<T>,
): Promise<OutboxStore<T>> {
  const records = await openTypedKv(js, bucket, schema);
  const markers = await openTypedKv(js, markerBucket, z.unknown());
  // The marker is written before the record, so a crash between the two leaves at worst a
  // marker for a record with nothing to send, which the sweep clears. Markers are removed by
  // revision and without a tombstone (TypedKv.remove), so the sweep's scan stays O(pending).
  const mark = (key: string) => markers.put(key, 1);
  const markIfOwed = async (key: string, record: T) => (record.outbox.length > 0 ? mark(key) : null);
  const recent = new RecentRecords<T>();
  return {
    records,
    sent: new SentLog(),
    recent,
    async get(key) {
      const found = await records.get(key);
      if (found) recent.remember(key, found);
      return found;
    },
    mark,
    async create(key, record) {
      const marker = await markIfOwed(key, record);
      const written = { revision: await records.create(key, record), marker };
      recent.remember(key, { record, revision: written.revision });
      return written;
    },
    async update(key, record, revision, premarked) {
      const marker = premarked === null ? null : (premarked ?? (await markIfOwed(key, record)));
      const written = { revision: await records.update(key, record, revision), marker };
      recent.remember(key, { record, revision: written.revision });
      return written;
    },
    async pendingKeys(minAgeMs, now) {
      const all = await markers.scan();
      return all.filter((m) => now.getTime() - m.created.getTime() >= minAgeMs).map((m) => ({ key: m.key, marker: m.revision }));
    },
    clearPending: (key, marker) => markers.remove(key, marker),
  };
}
