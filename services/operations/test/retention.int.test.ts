import { randomUUID } from 'node:crypto';
import { connectNats, createEnvelope, ensureStream, limitsRetention, type NatsConnection } from '@platform/kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pruneOnce, type RetentionDeps, type RetentionSettings } from '../src/domain/retention.js';
import { CONSUMED_STREAMS, streamHorizons } from '../src/events/retention.js';
import { appendOutboxSql } from '../src/store/outbox.js';
import { silentLog } from './support/callers.js';
import { startPrivateNats, type PrivateNats } from '@platform/testkit';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';
import { EVENT_STREAMS } from '@platform/contracts';

// The rule: sent outbox rows and processed-event markers go after their retention, in bounded
// batches; an unsent outbox row never goes, however old; a marker never goes while the stream its
// event came from could still deliver a copy. Real Postgres (scratch database) and a real
// nats-server whose stream limits the pruner reads.
const DAY = 24 * 3600_000;
const STREAM_MAX_AGE = 10 * DAY;
let s: ScratchDb;
let nats: PrivateNats;
let nc: NatsConnection;
let setupError: unknown;

beforeAll(async () => {
  try {
    s = await migratedScratchDb('retention');
    nats = await startPrivateNats({ portRange: [4491, 4499], as: 'platform' });
    nc = await connectNats({ url: nats.url, user: nats.user, password: nats.password, name: 'retention-test', log: silentLog });
    await ensureStream(nc, {
      name: EVENT_STREAMS.coordination,
      subjects: ['coordination.>'],
      ...limitsRetention({ maxAgeMs: STREAM_MAX_AGE, maxBytes: 1024 ** 2 }),
    });
  } catch (e) {
    setupError = e;
  }
});
beforeEach(async () => {
  if (setupError) throw setupError;
  await s.admin.query('TRUNCATE outbox, processed_events');
});
afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await nats?.destroy();
  await s?.drop();
});

const now = new Date();
const ago = (ms: number) => new Date(now.getTime() - ms);
const settings: RetentionSettings = { outboxRetentionMs: 7 * DAY, processedRetentionMs: 7 * DAY, batch: 2, maxBatchesPerPass: 100 };
const deps = (over: Partial<RetentionDeps> = {}): RetentionDeps => ({
  sql: s.sql,
  clock: () => now,
  log: silentLog,
  horizons: () => streamHorizons(nc, CONSUMED_STREAMS),
  ...over,
});

/** An outbox row created at `created`, sent at `sent` (null: not sent yet). */
async function outboxRow(created: Date, sent: Date | null): Promise<string> {
  const id = randomUUID();
  await s.admin.query(
    `INSERT INTO outbox (id, subject, envelope, created_at, published_at) VALUES ($1, 'operations.task.created', '{}', $2, $3)`,
    [id, created, sent],
  );
  return id;
}
async function marker(at: Date): Promise<string> {
  const id = randomUUID();
  await s.admin.query(`INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ('operations-job-results', $1, $2)`, [
    id,
    at,
  ]);
  return id;
}
const outboxIds = async () => new Set((await s.admin.query<{ id: string }>('SELECT id FROM outbox')).rows.map((r) => r.id));
const markerIds = async () =>
  new Set((await s.admin.query<{ event_id: string }>('SELECT event_id FROM processed_events')).rows.map((r) => r.event_id));

describe('retention of the outbox and the processed-event markers', () => {
  it('deletes sent rows and markers past retention, in batches, and keeps every unsent row and every young one', async () => {
    for (let i = 0; i < 5; i++) await outboxRow(ago(30 * DAY), ago(30 * DAY));
    await outboxRow(ago(8 * DAY), ago(7 * DAY + 60_000)); // sent just past the retention
    const recentSent = await outboxRow(ago(DAY), ago(DAY));
    // Created long ago, sent only recently (after an outage): retention counts from sending.
    const lateSent = await outboxRow(ago(30 * DAY), ago(DAY));
    const oldUnsent = await outboxRow(ago(365 * DAY), null);
    const recentUnsent = await outboxRow(ago(60_000), null);

    for (let i = 0; i < 3; i++) await marker(ago(30 * DAY));
    // Past the 7-day retention but inside the consumed stream's 10-day max age: a copy may still come.
    const insideStreamAge = await marker(ago(8 * DAY));
    const recentMarker = await marker(ago(DAY));

    const result = await pruneOnce(deps(), settings);

    expect(result.outboxDeleted).toBe(6);
    expect(result.markersDeleted).toBe(3);
    expect(result.markerCutoff).toEqual(ago(STREAM_MAX_AGE));
    expect(await outboxIds()).toEqual(new Set([recentSent, lateSent, oldUnsent, recentUnsent]));
    expect(await markerIds()).toEqual(new Set([insideStreamAge, recentMarker]));
  });

  it('never deletes an unsent row, even one written by the service and looked at a year later', async () => {
    const unsent = [];
    for (let i = 0; i < 5; i++) {
      const task = { taskId: randomUUID(), ownerId: 'user:alice', status: 'todo', priority: 'P2', parentId: null, blockId: null } as const;
      const e = createEnvelope('operations', 'operations.task.created', task, { clock: () => ago(400 * DAY) });
      await appendOutboxSql(s.sql, e);
      unsent.push(e.id);
    }
    await s.admin.query(`UPDATE outbox SET created_at = $1`, [ago(400 * DAY)]);
    const sent = await outboxRow(ago(400 * DAY), ago(400 * DAY));

    const yearLater = new Date(now.getTime() + 365 * DAY);
    const result = await pruneOnce(deps({ clock: () => yearLater }), { ...settings, outboxRetentionMs: 1_000 });

    expect(result.outboxDeleted).toBe(1);
    expect(await outboxIds()).toEqual(new Set(unsent));
    expect(unsent).not.toContain(sent);
  });

  it('one pass deletes at most its budget of batches; the next pass goes on', async () => {
    for (let i = 0; i < 7; i++) await outboxRow(ago(30 * DAY), ago(30 * DAY));
    const budget = { ...settings, batch: 2, maxBatchesPerPass: 2 };
    expect((await pruneOnce(deps(), budget)).outboxDeleted).toBe(4);
    expect((await outboxIds()).size).toBe(3);
    expect((await pruneOnce(deps(), budget)).outboxDeleted).toBe(3);
    expect((await outboxIds()).size).toBe(0);
  });

  it('keeps every marker when the consumed stream cannot be read or keeps its messages forever', async () => {
    const old = await marker(ago(300 * DAY));
    const oldSent = await outboxRow(ago(300 * DAY), ago(300 * DAY));

    const unreadable = await pruneOnce(deps({ horizons: () => streamHorizons(nc, ['NO_SUCH_STREAM']) }), settings);
    expect(unreadable).toMatchObject({ markersDeleted: 0, markerCutoff: null, outboxDeleted: 1 });
    expect(await markerIds()).toEqual(new Set([old]));
    expect(await outboxIds()).not.toContain(oldSent);

    await ensureStream(nc, { name: 'FOREVER', subjects: ['forever.>'], max_age: 0 });
    const forever = await pruneOnce(deps({ horizons: () => streamHorizons(nc, [EVENT_STREAMS.coordination, 'FOREVER']) }), settings);
    expect(forever).toMatchObject({ markersDeleted: 0, markerCutoff: null });
    expect(await markerIds()).toEqual(new Set([old]));
  });
});
