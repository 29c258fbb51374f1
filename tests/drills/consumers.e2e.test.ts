import { randomUUID } from 'node:crypto';
import {
  connectNats,
  consumeEvents,
  createEnvelope,
  createLogger,
  DEAD_LETTER_STREAM,
  ensureStream,
  publishEnvelope,
  type NatsConnection,
} from '@platform/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

// Drills on the shared consumer runtime (every service's consumers use consumeEvents), against a
// private nats-server: a poison message is dead-lettered and the stream keeps flowing; a slow
// consumer keeps memory bounded and causes no redelivery storm.
const log = createLogger('drill-consumers', 'silent');
let nats: PrivateNats;
let nc: NatsConnection;

const jobEvent = (status: 'succeeded' | 'failed' | 'cancelled' = 'succeeded') =>
  createEnvelope('coordination', `coordination.job.${status}`, {
    jobId: randomUUID(),
    jobType: 'build',
    status,
    targetKind: 'none',
    targetId: null,
    attempt: 1,
    agent: 'drill',
  });

beforeAll(async () => {
  nats = await startPrivateNats({ port: 4482, as: 'platform' });
  nc = await connectNats({ url: nats.url, user: nats.user, password: nats.password, name: 'drill', log });
  await ensureStream(nc, { name: 'COORDINATION_EVENTS', subjects: ['coordination.>'] });
});
afterAll(async () => {
  await nc?.close();
  await nats?.destroy();
});

describe('consumer drills', () => {
  it('dead-letters a poison message after its max deliveries while the stream keeps flowing', { timeout: 60_000 }, async () => {
    const js = nc.jetstream();
    const poison = jobEvent();
    const good = Array.from({ length: 200 }, () => jobEvent());
    const handled = new Set<string>();
    let poisonAttempts = 0;
    const consumer = await consumeEvents({
      nc,
      stream: 'COORDINATION_EVENTS',
      durable: 'drill-poison',
      subjects: ['coordination.job.succeeded'],
      log,
      maxDeliver: 3,
      retryDelayMs: 100,
      handler: async (e) => {
        if (e.id === poison.id) {
          poisonAttempts++;
          throw new Error('cannot apply this one');
        }
        handled.add(e.id);
      },
    });
    const started = Date.now();
    await publishEnvelope(js, poison);
    for (const e of good) await publishEnvelope(js, e);
    const jsm = await nc.jetstreamManager();
    const deadline = Date.now() + 30_000;
    let dead = 0;
    while (Date.now() < deadline && (handled.size < good.length || dead < 1)) {
      dead = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;
      await new Promise((r) => setTimeout(r, 100));
    }
    await consumer.stop();
    const letter = (await jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: 'deadletter.drill-poison' })).json<{
      reason: string;
      delivery: number;
      envelope: { id: string };
    }>();
    console.log(
      `drill poison: ${good.length} good events applied in ${Date.now() - started} ms while the poison message was tried ${poisonAttempts}× and dead-lettered`,
    );
    expect(handled.size).toBe(good.length);
    expect(poisonAttempts).toBe(3);
    expect(letter).toMatchObject({ reason: 'cannot apply this one', delivery: 3, envelope: { id: poison.id } });
  });

  it(
    'with concurrency: at most N handled at once, one key in stream order, every message once, a failure retried',
    { timeout: 60_000 },
    async () => {
      const js = nc.jetstream();
      const CONCURRENCY = 6;
      const KEYS = 20;
      // 20 jobs × 10 events each, interleaved; the handler of one job's events must see them in order.
      const events = Array.from({ length: 10 }, () => Array.from({ length: KEYS }, () => jobEvent('cancelled'))).flat();
      const keyOf = (i: number) => `job-${i % KEYS}`;
      const keyById = new Map(events.map((e, i) => [e.id, keyOf(i)]));
      const expectedOrder = new Map<string, string[]>();
      events.forEach((e, i) => expectedOrder.set(keyOf(i), [...(expectedOrder.get(keyOf(i)) ?? []), e.id]));
      const seen = new Map<string, string[]>();
      let running = 0;
      let maxRunning = 0;
      let failedOnce = false;
      const handledIds = new Set<string>();
      let handledTwice = 0;
      const flaky = events[45]!.id;
      const consumer = await consumeEvents({
        nc,
        stream: 'COORDINATION_EVENTS',
        durable: 'drill-concurrent',
        subjects: ['coordination.job.cancelled'],
        log,
        retryDelayMs: 50,
        concurrency: CONCURRENCY,
        keyOf: (e) => keyById.get(e.id)!,
        handler: async (e) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          try {
            await new Promise((r) => setTimeout(r, 5 + (e.id.charCodeAt(0) % 10)));
            if (e.id === flaky && !failedOnce) {
              failedOnce = true;
              throw new Error('transient');
            }
            if (handledIds.has(e.id)) handledTwice++;
            handledIds.add(e.id);
            const key = keyById.get(e.id)!;
            seen.set(key, [...(seen.get(key) ?? []), e.id]);
          } finally {
            running--;
          }
        },
      });
      for (const e of events) await publishEnvelope(js, e);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && handledIds.size < events.length) await new Promise((r) => setTimeout(r, 50));
      await consumer.stop();
      expect(handledIds.size).toBe(events.length);
      expect(handledTwice).toBe(0);
      expect(failedOnce).toBe(true);
      expect(maxRunning).toBeLessThanOrEqual(CONCURRENCY);
      expect(maxRunning).toBeGreaterThan(1);
      // A failed message is retried later, so its key's order holds for every key but that one.
      const flakyKey = keyById.get(flaky)!;
      for (const [key, ids] of expectedOrder) {
        if (key === flakyKey) expect([...(seen.get(key) ?? [])].sort()).toEqual([...ids].sort());
        else expect(seen.get(key)).toEqual(ids);
      }
    },
  );

  it('keeps memory bounded and does not redeliver under a slow consumer', { timeout: 120_000 }, async () => {
    const js = nc.jetstream();
    const TOTAL = 1_500;
    for (let i = 0; i < TOTAL; i++) await publishEnvelope(js, jobEvent('failed'));
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let redelivered = 0;
    let done = 0;
    const consumer = await consumeEvents({
      nc,
      stream: 'COORDINATION_EVENTS',
      durable: 'drill-slow',
      subjects: ['coordination.job.failed'],
      log,
      handler: async (_e, msg) => {
        if (msg.info.deliveryCount > 1) redelivered++;
        await new Promise((r) => setTimeout(r, 5)); // a slow handler: ~200 messages/s at most
        done++;
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      },
    });
    const started = Date.now();
    while (done < TOTAL && Date.now() - started < 100_000) await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();
    const growthMiB = (peakRss - rssBefore) / 2 ** 20;
    console.log(
      `drill slow consumer: ${done} messages in ${Date.now() - started} ms, redelivered ${redelivered}, RSS ${(rssBefore / 2 ** 20).toFixed(0)} → peak ${(peakRss / 2 ** 20).toFixed(0)} MiB (+${growthMiB.toFixed(1)})`,
    );
    expect(done).toBe(TOTAL);
    expect(redelivered).toBe(0);
    expect(growthMiB).toBeLessThan(64);
  });
});
