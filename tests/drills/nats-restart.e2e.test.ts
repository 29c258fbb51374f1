import { randomUUID } from 'node:crypto';
import { connectNats, consumeEvents, createEnvelope, createLogger, ensureStream, outboxSignal, startOutboxRelay, type NatsConnection } from '@platform/kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

// Drill: NATS is killed (SIGKILL) and restarted in the middle of a burst of 5,000 events leaving
// through the outbox relay. Pass: every event reaches the durable consumer, none is applied twice.
const TOTAL = 5_000;
const log = createLogger('drill-nats', 'warn');
let nats: PrivateNats;
const conns: NatsConnection[] = [];

beforeAll(async () => {
  nats = await startPrivateNats({ port: 4481, as: 'platform' });
});
afterAll(async () => {
  await Promise.allSettled(conns.map((c) => c.close()));
  await nats?.destroy();
});

it('delivers every event exactly once as applied, across a NATS kill and restart', { timeout: 180_000 }, async () => {
  const connect = async (name: string) => {
    const nc = await connectNats({ url: nats.url, user: nats.user, password: nats.password, name, log });
    conns.push(nc);
    return nc;
  };
  const pub = await connect('drill-publisher');
  const sub = await connect('drill-consumer');
  await ensureStream(pub, { name: 'OPERATIONS_EVENTS', subjects: ['operations.>'] });

  // The outbox: pending events by id, in insertion order (a Map keeps it), removed once published.
  // `written` is what a store rings once a write with events committed (here: after the burst).
  const outbox = new Map<string, string>();
  const written = outboxSignal();
  const relay = startOutboxRelay({
    source: {
      pending: async (limit) => [...outbox.entries()].slice(0, limit).map(([id, json]) => ({ id, json })),
      markPublished: async (ids) => ids.forEach((id) => outbox.delete(id)),
    },
    signal: written,
    js: pub.jetstream(),
    log,
    intervalMs: 50,
    batch: 250,
  });

  const applied = new Set<string>();
  let duplicates = 0;
  const consumer = await consumeEvents({
    nc: sub,
    stream: 'OPERATIONS_EVENTS',
    durable: 'drill-applier',
    subjects: ['operations.task.created'],
    log,
    handler: async (event) => {
      if (applied.has(event.id)) duplicates++;
      else applied.add(event.id);
    },
  });

  const started = Date.now();
  for (let i = 0; i < TOTAL; i++) {
    const e = createEnvelope('operations', 'operations.task.created', {
      taskId: randomUUID(),
      ownerId: 'drill',
      status: 'todo',
      priority: 'P2',
      parentId: null,
      blockId: null,
    });
    outbox.set(e.id, JSON.stringify(e));
  }
  written.written();
  // Kill the server once a third of the burst has been published, bring it back 1.5 s later.
  while (TOTAL - outbox.size < 1_500) await new Promise((r) => setTimeout(r, 5));
  const publishedAtKill = TOTAL - outbox.size;
  await nats.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1_500));
  await nats.start();

  const deadline = Date.now() + 150_000;
  while (applied.size < TOTAL && Date.now() < deadline) {
    relay.poke();
    await new Promise((r) => setTimeout(r, 200));
  }
  await relay.stop();
  await consumer.stop();
  console.log(
    `drill nats-restart: published ${TOTAL}, applied ${applied.size}, duplicate deliveries suppressed ${duplicates}, ` +
      `outbox left ${outbox.size}, killed after ${publishedAtKill} published, all applied ${Date.now() - started} ms after the burst began`,
  );
  expect(outbox.size).toBe(0);
  expect(applied.size).toBe(TOTAL);
});
