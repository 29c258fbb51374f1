import { connectNats, type NatsConnection, type OutboxRelay } from '@platform/kit';
import { startPrivateNats, type PrivateNats } from '@platform/testkit';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTask } from '../src/domain/tasks.js';
import { startOperationsOutbox } from '../src/events/outbox.js';
import { ensureOperationsStream } from '../src/events/streams.js';
import { startWriteListener, WRITE_LISTENER_APP_NAME, type WriteListener } from '../src/store/write-listener.js';
import { callerFor, silentLog, testDeps, user } from './support/callers.js';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';

// The rule: an event written by a domain write reaches NATS promptly with no router (and no caller at
// all) telling the relay. The relay's safety-net poll is a minute here, so only the outbox trigger's
// NOTIFY, heard by the write listener, can deliver within PROMPT_MS.
const SAFETY_NET_MS = 60_000;
const PROMPT_MS = 1_000;

let s: ScratchDb;
let nats: PrivateNats;
let nc: NatsConnection;
let setupError: unknown;
let writes: WriteListener | undefined;
let relay: OutboxRelay | undefined;
type Subscription = ReturnType<NatsConnection['subscribe']>;

beforeAll(async () => {
  try {
    s = await migratedScratchDb('writelisten');
    nats = await startPrivateNats({ portRange: [4491, 4499], as: 'platform' });
    nc = await connectNats({ url: nats.url, user: nats.user, password: nats.password, name: 'write-listener-test', log: silentLog });
    await ensureOperationsStream(nc);
    // The principals the tasks below belong to exist (as after a first call of theirs).
    for (const id of ['wendy', 'walt']) await callerFor(testDeps(s), user(id)).users.me({});
  } catch (e) {
    setupError = e;
  }
});
beforeEach(() => {
  if (setupError) throw setupError;
});
afterEach(async () => {
  await relay?.stop();
  await writes?.stop();
  relay = writes = undefined;
});
afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await nats?.destroy();
  await s?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - t0;
}

/** Resolves with the time from now until an operations.task.created event for `taskId` is on NATS. */
function arrivalOf(taskId: string): { sub: Subscription; arrived: Promise<number> } {
  const t0 = Date.now();
  const sub = nc.subscribe('operations.task.created');
  const arrived = (async () => {
    for await (const m of sub) {
      if ((m.json() as { data: { taskId: string } }).data.taskId === taskId) return Date.now() - t0;
    }
    throw new Error(`subscription ended before task ${taskId}'s event arrived`);
  })();
  return { sub, arrived };
}

/** A task created through the domain layer (no router, no tRPC): its created event goes to the outbox. */
async function createTaskDirectly(owner: string, title: string): Promise<string> {
  return (await createTask(testDeps(s), user(owner), { title, priority: 'P2', subtasks: [] })).id;
}

/** Creates a task through the domain layer; answers how long after the write returned its event was on NATS (fails after PROMPT_MS). */
async function promptlyPublished(owner: string, title: string): Promise<number> {
  // The subscription is made before the write, and filtered by id once the id is known.
  const sub = nc.subscribe('operations.task.created');
  const seen = new Map<string, number>();
  const collecting = (async () => {
    for await (const m of sub) seen.set((m.json() as { data: { taskId: string } }).data.taskId, Date.now());
  })();
  try {
    const id = await createTaskDirectly(owner, title);
    // Timed from the write's return (it has committed), so a slow write on a busy machine does not count.
    const committed = Date.now();
    await waitFor(`task ${id}'s created event on NATS`, () => seen.has(id), PROMPT_MS);
    return Math.max(0, seen.get(id)! - committed);
  } finally {
    sub.unsubscribe();
    await collecting;
  }
}

async function startRelay(opts: { minDelayMs?: number } = {}): Promise<WriteListener> {
  const listener = (writes = startWriteListener({ connectionString: s.appUrl, log: silentLog, ...opts }));
  await waitFor('the LISTEN connection', () => listener.listening(), 5_000);
  relay = startOperationsOutbox(s.db, listener.outboxWritten, nc.jetstream(), silentLog, SAFETY_NET_MS);
  await sleep(100); // the relay's start pass has ended
  return listener;
}

/** Ends the listener's backend as its own role would (the owner may not end operations_app's). */
async function cutListenConnection(): Promise<number> {
  const c = new pg.Client({ connectionString: s.appUrl });
  await c.connect();
  try {
    // Found first, then ended: in one WHERE, Postgres may call pg_terminate_backend on rows the other conditions would drop.
    const { rows } = await c.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
      [WRITE_LISTENER_APP_NAME],
    );
    for (const { pid } of rows) await c.query('SELECT pg_terminate_backend($1)', [pid]);
    return rows.length;
  } finally {
    await c.end();
  }
}

describe('the outbox relay hears of committed writes by itself (LISTEN/NOTIFY)', () => {
  it('publishes an event written by a domain call within a second, with no router call and a minute-long poll', async () => {
    await startRelay();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) delays.push(await promptlyPublished('wendy', `direct ${i}`));
    console.log(`outbox NOTIFY → NATS: ${delays.join(', ')} ms (safety-net poll ${SAFETY_NET_MS} ms)`);
    expect(Math.max(...delays)).toBeLessThan(PROMPT_MS);
  });

  it('does not notify for a write that rolled back, and a rolled-back event is never published', async () => {
    const listener = await startRelay();
    let rings = 0;
    const unlisten = listener.outboxWritten.listen(() => rings++);
    try {
      const { sub, arrived } = arrivalOf('00000000-0000-4000-8000-00000000abcd');
      const c = new pg.Client({ connectionString: s.appUrl });
      await c.connect();
      try {
        await c.query('BEGIN');
        await c.query(
          `INSERT INTO outbox (id, subject, envelope) VALUES (gen_random_uuid(), 'operations.task.created', '{"data":{"taskId":"00000000-0000-4000-8000-00000000abcd"}}')`,
        );
        await c.query('ROLLBACK');
      } finally {
        await c.end();
      }
      await sleep(300);
      expect(rings).toBe(0);
      sub.unsubscribe();
      await expect(arrived).rejects.toThrow(/subscription ended/);
      // A committed insert rings (the same listener, so the count above means something).
      await createTaskDirectly('wendy', 'committed');
      await waitFor('a ring for the committed write', () => rings > 0, PROMPT_MS);
    } finally {
      unlisten();
    }
  });

  it('survives its LISTEN connection being cut: reconnects, publishes what was written meanwhile, and stays prompt', async () => {
    // A slow first reconnect, so a write can commit while nobody listens.
    const listener = await startRelay({ minDelayMs: 1_500 });
    expect(await cutListenConnection()).toBe(1);
    await waitFor('the listener to notice the cut', () => !listener.listening(), 2_000);

    // Committed while nobody LISTENs: its NOTIFY reaches no one. The reconnect rings the relay.
    const { sub, arrived } = arrivalOf(await createTaskDirectly('walt', 'written while deaf'));
    const back = await waitFor('the LISTEN connection to come back', () => listener.listening(), 10_000);
    try {
      const delay = await Promise.race([arrived, sleep(back + PROMPT_MS + 2_000).then(() => -1)]);
      expect(delay, 'the event written while the connection was down was not published after the reconnect').toBeGreaterThan(0);
    } finally {
      sub.unsubscribe();
    }

    // Notifications flow again on the new connection.
    const after = await promptlyPublished('walt', 'after the reconnect');
    console.log(`LISTEN cut: back after ${back} ms; next event on NATS after ${after} ms`);
    expect(after).toBeLessThan(PROMPT_MS);
  });
});
