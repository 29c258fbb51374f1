import type { KV, NatsConnection } from '@platform/kit';
import { JOBS_BUCKET, OUTBOX_BUCKET } from './streams.js';
import { JobRecord } from './job-record.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface JobStore {
  get(id: string): Promise<{ record: JobRecord; revision: number } | null>;
  create(record: JobRecord): Promise<void>;
  /** Compare-and-set: fails with a conflict when another writer changed the record since `revision`. */
  update(record: JobRecord, revision: number): Promise<void>;
  /** Ids of records that may still owe messages (the sweep's work list). */
  pendingIds(): Promise<string[]>;
  clearPending(id: string): Promise<void>;
}

export class RevisionConflict extends Error {
  override name = 'RevisionConflict';
}

export async function openJobStore(nc: NatsConnection): Promise<JobStore> {
  const js = nc.jetstream();
  const jobs: KV = await js.views.kv(JOBS_BUCKET, { bindOnly: true });
  const pending: KV = await js.views.kv(OUTBOX_BUCKET, { bindOnly: true });

  // The pending marker is written before the record, so a crash between the two leaves at worst
  // a marker for a record with nothing to send, which the sweep clears.
  const mark = (id: string) => pending.put(id, enc.encode('1'));

  return {
    async get(id) {
      const entry = await jobs.get(id);
      if (!entry || entry.operation !== 'PUT') return null;
      return { record: JobRecord.parse(JSON.parse(dec.decode(entry.value))), revision: entry.revision };
    },
    async create(record) {
      if (record.outbox.length > 0) await mark(record.id);
      await jobs.create(record.id, enc.encode(JSON.stringify(record)));
    },
    async update(record, revision) {
      if (record.outbox.length > 0) await mark(record.id);
      try {
        await jobs.update(record.id, enc.encode(JSON.stringify(record)), revision);
      } catch (err) {
        if (err instanceof Error && /wrong last sequence/i.test(err.message)) throw new RevisionConflict(record.id);
        throw err;
      }
    },
    async pendingIds() {
      const ids: string[] = [];
      for await (const k of await pending.keys()) ids.push(k);
      return ids;
    },
    clearPending: (id) => pending.delete(id),
  };
}
