import type { JetStreamClient, KV, KvEntry } from '@platform/kit';
import type { z } from 'zod';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Another writer changed the key since the revision we read (compare-and-set lost). */
export class RevisionConflict extends Error {
  override name = 'RevisionConflict';
}
export class AlreadyExists extends Error {
  override name = 'AlreadyExists';
}

export interface Versioned<T> {
  record: T;
  revision: number;
}

/** A KV bucket of zod-validated JSON values (validated on every read). */
export interface TypedKv<T> {
  readonly bucket: string;
  readonly kv: KV;
  get(key: string): Promise<Versioned<T> | null>;
  /** Writes unconditionally; returns the new revision. */
  put(key: string, value: T): Promise<number>;
  /** Fails with AlreadyExists when the key holds a value. */
  create(key: string, value: T): Promise<number>;
  /** Compare-and-set: fails with RevisionConflict when the key changed since `revision`. */
  update(key: string, value: T, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  /**
   * Removes the key without a tombstone: deletes its stream message (the one at `revision`, or
   * the current one). Watchers see nothing. For short-lived keys (outbox markers, leases) whose
   * tombstones would otherwise pile up, one per job, and make every scan O(all jobs ever).
   * With `revision`, a newer value written meanwhile survives (its message has another sequence).
   */
  remove(key: string, revision?: number): Promise<void>;
  /** Every current value (one ordered consumer over the bucket): for small buckets and admin lists. */
  scan(): Promise<Array<Versioned<T> & { key: string; created: Date }>>;
  parse(entry: KvEntry): T;
}

const isWrongSequence = (err: unknown) => err instanceof Error && /wrong last sequence/i.test(err.message);

export async function openTypedKv<T>(js: JetStreamClient, bucket: string, schema: z.ZodType<T>): Promise<TypedKv<T>> {
  const kv = await js.views.kv(bucket, { bindOnly: true });
  const jsm = await js.jetstreamManager();
  const stream = `KV_${bucket}`;
  const parse = (entry: KvEntry): T => schema.parse(JSON.parse(dec.decode(entry.value)));
  return {
    bucket,
    kv,
    parse,
    async get(key) {
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT') return null;
      return { record: parse(entry), revision: entry.revision };
    },
    put: (key, value) => kv.put(key, enc.encode(JSON.stringify(value))),
    async create(key, value) {
      try {
        return await kv.create(key, enc.encode(JSON.stringify(value)));
      } catch (err) {
        if (isWrongSequence(err)) throw new AlreadyExists(`${bucket}/${key}`);
        throw err;
      }
    },
    async update(key, value, revision) {
      try {
        return await kv.update(key, enc.encode(JSON.stringify(value)), revision);
      } catch (err) {
        if (isWrongSequence(err)) throw new RevisionConflict(`${bucket}/${key}`);
        throw err;
      }
    },
    delete: (key) => kv.delete(key),
    async remove(key, revision) {
      const seq = revision ?? (await kv.get(key))?.revision;
      if (!seq) return;
      try {
        await jsm.streams.deleteMessage(stream, seq, false);
      } catch (err) {
        // Already gone: replaced by a newer value (history 1) or removed by another replica.
        if (!(err instanceof Error && /no message found|not found/i.test(err.message))) throw err;
      }
    },
    async scan() {
      const out = new Map<string, Versioned<T> & { key: string; created: Date }>();
      for (const e of await scanEntries(kv)) {
        if (e.operation === 'PUT') out.set(e.key, { key: e.key, record: parse(e), revision: e.revision, created: e.created });
        else out.delete(e.key);
      }
      return [...out.values()];
    },
  };
}

/**
 * The latest entry of every key, read once: a watcher that stops when it has caught up.
 * (Deletes are returned too; `ignoreDeletes` would make nats.js miss the end of a bucket whose
 * last entry is a delete.)
 */
export async function scanEntries(kv: KV): Promise<KvEntry[]> {
  let caughtUp = false;
  let iter: Awaited<ReturnType<KV['watch']>> | undefined = undefined;
  iter = await kv.watch({
    initializedFn: () => {
      caughtUp = true;
      iter?.stop();
    },
  });
  // An empty bucket calls initializedFn inside watch(), before `iter` is assigned.
  if (caughtUp) {
    iter.stop();
    return [];
  }
  const entries: KvEntry[] = [];
  for await (const e of iter) entries.push(e);
  return entries;
}
