import { consumeEvents, createEnvelope, ensureStream, type NatsConnection, type RunningConsumer } from '@platform/kit';
import { connectNats } from '@platform/kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAgentStuckConsumer } from '../src/events/agent-stuck.js';
import { startOperationsOutbox } from '../src/events/outbox.js';
import { ensureOperationsStream } from '../src/events/streams.js';
import { markProcessed } from '../src/store/inbox.js';
import { startWriteListener } from '../src/store/write-listener.js';
import { callerFor, silentLog, testDeps, user } from './support/callers.js';
import { startPrivateNats, type PrivateNats } from '@platform/testkit';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';
import { EVENT_STREAMS } from '@platform/contracts';

// The outbox against a NATS server this test owns, so it can stop it in the middle of writes.
let s: ScratchDb;
let nats: PrivateNats;
let nc: NatsConnection;
let setupError: unknown;

beforeAll(async () => {
  try {
    s = await migratedScratchDb('outbox');
    await s.admin.query(`CREATE TABLE consumed (event_id uuid NOT NULL, subject text NOT NULL)`);
    await s.admin.query(`GRANT SELECT, INSERT ON consumed TO operations_app`);
    nats = await startPrivateNats({ portRange: [4491, 4499], as: 'platform' });
    nc = await connectNats({ url: nats.url, user: nats.user, password: nats.password, name: 'outbox-test', log: silentLog });
    await ensureOperationsStream(nc);
    await ensureStream(nc, { name: EVENT_STREAMS.coordination, subjects: ['coordination.>'] });
  } catch (e) {
    setupError = e;
  }
});
beforeEach(() => {
  if (setupError) throw setupError;
});
afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await nats?.destroy();
  await s?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = async (sql: string, params: unknown[] = []) =>
  Number((await s.admin.query(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0].n);
async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('outbox relay and idempotent consumers', () => {
  it('NATS stopped during writes: nothing is lost, and no consumer applies an event twice', async () => {
    const writes = startWriteListener({ connectionString: s.appUrl, log: silentLog });
    const relay = startOperationsOutbox(s.db, writes.outboxWritten, nc.jetstream(), silentLog, 100);
    // A consumer in the style of this service: the effect and its processed-event id commit together.
    const consumer: RunningConsumer = await consumeEvents({
      nc,
      stream: EVENT_STREAMS.operations,
      durable: 'outbox-test-consumer',
      subjects: ['operations.task.created'],
      log: silentLog,
      retryDelayMs: 100,
      handler: async (event) => {
        await s.db.$transaction(async (tx) => {
          if (!(await markProcessed(tx, 'outbox-test-consumer', event.id))) return;
          await tx.$executeRaw`INSERT INTO consumed (event_id, subject) VALUES (${event.id}::uuid, ${event.subject})`;
        });
      },
    });
    const alice = callerFor(testDeps(s), user('alice'));
    try {
      for (let i = 0; i < 5; i++) await alice.tasks.create({ title: `before ${i}` });
      await waitFor('first events consumed', async () => (await count('consumed')) === 5);

      await nats.kill('SIGTERM');
      for (let i = 0; i < 10; i++) await alice.tasks.create({ title: `while down ${i}`, subtasks: [{ title: `sub ${i}` }] });
      await sleep(500); // the relay tries (and fails) meanwhile
      expect(await count(`outbox WHERE published_at IS NULL`)).toBe(20);

      await nats.start();
      await waitFor('events written while NATS was down consumed', async () => (await count('consumed')) === 25, 60_000);
      expect(await count(`outbox WHERE published_at IS NULL`)).toBe(0);

      // A crash between publish and "mark published" re-sends: JetStream drops the duplicate by Nats-Msg-Id…
      const stream = await (await nc.jetstreamManager()).streams.info(EVENT_STREAMS.operations);
      await s.admin.query(`UPDATE outbox SET published_at = NULL WHERE id IN (SELECT id FROM outbox ORDER BY seq LIMIT 5)`);
      relay.poke();
      await waitFor('re-sent', async () => (await count(`outbox WHERE published_at IS NULL`)) === 0);
      expect((await (await nc.jetstreamManager()).streams.info(EVENT_STREAMS.operations)).state.messages).toBe(stream.state.messages);
      // …and a copy outside the dedupe window (new message id) is dropped by the consumer's inbox.
      const copies = (await s.admin.query(`SELECT envelope FROM outbox ORDER BY seq LIMIT 3`)).rows.map(
        (r) => r.envelope as { id: string; subject: string },
      );
      for (const env of copies) await nc.jetstream().publish(env.subject, JSON.stringify(env), { msgID: `replay-${env.id}` });
      await waitFor(
        'copies delivered',
        async () =>
          (await (await nc.jetstreamManager()).consumers.info(EVENT_STREAMS.operations, 'outbox-test-consumer')).num_pending === 0,
      );
      await sleep(300);

      expect(await count('consumed')).toBe(25);
      expect(await count('(SELECT DISTINCT event_id FROM consumed) d')).toBe(25);
      const outboxIds = (await s.admin.query(`SELECT id FROM outbox WHERE subject = 'operations.task.created'`)).rows
        .map((r) => r.id)
        .sort();
      const consumedIds = (await s.admin.query(`SELECT event_id FROM consumed`)).rows.map((r) => r.event_id).sort();
      expect(consumedIds).toEqual(outboxIds);
    } finally {
      await consumer.stop();
      await relay.stop();
      await writes.stop();
    }
  });

  it('escalates coordination.agent.stuck once per event and per open subject, also when sent while operations is down', async () => {
    const deps = { db: s.db, sql: s.sql, clock: () => new Date(), newId: () => crypto.randomUUID(), log: silentLog };
    const jobId = crypto.randomUUID();
    const stuck = (job: string | null) =>
      createEnvelope('coordination', 'coordination.agent.stuck', {
        agent: 'worker-7',
        jobId: job,
        reason: 'cannot reach the build cache',
        reportedAt: new Date().toISOString(),
      });
    const publish = (env: ReturnType<typeof stuck>, msgID = env.id) => nc.jetstream().publish(env.subject, JSON.stringify(env), { msgID });
    const escalations = () => count(`approval_requests WHERE subject_kind = 'agent_stuck'`);

    // Reported while operations' consumer is not running: the durable consumer keeps it.
    const first = stuck(jobId);
    let consumer = await startAgentStuckConsumer(nc, deps, silentLog);
    await consumer.stop();
    await publish(first);
    consumer = await startAgentStuckConsumer(nc, deps, silentLog);
    try {
      await waitFor('escalation', async () => (await escalations()) === 1);
      await publish(first, `again-${first.id}`); // redelivery of the same event
      await publish(stuck(jobId)); // a new report about the same job while its escalation is open
      await publish(stuck(null)); // the agent stuck outside any job: another subject
      await waitFor('all processed', async () => (await count(`processed_events WHERE consumer = 'operations-agent-stuck'`)) === 3);
      expect(await escalations()).toBe(2);
      const row = (
        await s.admin.query(`SELECT subject_id, requested_by, status, context FROM approval_requests WHERE subject_id = $1`, [jobId])
      ).rows[0];
      expect(row).toMatchObject({ requested_by: 'worker-7', status: 'pending', context: { agent: 'worker-7', jobId, eventId: first.id } });
      expect(await count(`outbox WHERE subject = 'operations.approval.requested'`)).toBe(2);

      // Platform admins decide escalations (they have no team).
      const root = callerFor(testDeps(s), user('root', ['admin']));
      await root.users.me({});
      const listed = await root.approvals.list({ subjectKind: 'agent_stuck', status: 'pending' });
      expect(listed.items).toHaveLength(2);
      expect((await root.approvals.decide({ id: listed.items[0]!.id, decision: 'approved', note: 'restarted the cache' })).status).toBe(
        'approved',
      );
    } finally {
      await consumer.stop();
    }
  });
});
