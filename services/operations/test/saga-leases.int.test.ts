import pg from 'pg';
import { z } from 'zod';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineSaga, SagaRegistry, type StepContext } from '../src/domain/sagas/definition.js';
import { SagaOrchestrator } from '../src/domain/sagas/orchestrator.js';
import { startSaga } from '../src/domain/saga-instances.js';
import { claimRunnable, renewLeases } from '../src/store/sagas.js';
import { asSystemSql } from '../src/store/scope.js';
import { poolRunner, sessionRunner, type SqlPool } from '../src/store/sql.js';
import { startWriteListener, WRITE_LISTENER_APP_NAME } from '../src/store/write-listener.js';
import { silentLog, testDeps, user } from './support/callers.js';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';
import { EFFECTS_DDL, effectsSaga, type LogEntry } from './support/test-sagas.js';

// Saga leases under load (issue 16 item 6, "no saga step run twice"): one replica keeps every lease
// it holds with one statement per tick, on a connection that does not queue behind step work, so a
// pool saturated by slow steps does not let leases expire under sagas that are still running (which
// would let another replica claim the saga and a step's side effect run twice).
const SAGAS = 60;
const LEASE_MS = 1_000;
const HOG_MS = 200;
let s: ScratchDb;
let setupError: unknown;
/** The saga pool: 3 connections, as the Helm default poolMax gives; checkouts may wait long. */
let small: pg.Pool;
let smallSql: SqlPool;
/** A session connection of its own, as main.ts gives the keeper the write listener's. */
let session: pg.Client;

beforeAll(async () => {
  try {
    s = await migratedScratchDb('saga_leases');
    await s.admin.query(EFFECTS_DDL);
    small = new pg.Pool({ connectionString: s.appUrl, max: 3, connectionTimeoutMillis: 60_000 });
    smallSql = poolRunner(small);
    session = new pg.Client({ connectionString: s.appUrl });
    await session.connect();
  } catch (e) {
    setupError = e;
  }
});
beforeEach(() => {
  if (setupError) throw setupError;
});
const running: SagaOrchestrator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
});
afterAll(async () => {
  await session?.end().catch(() => undefined);
  await small?.end().catch(() => undefined);
  await s?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two steps, each recording its effect once per run, then holding a saga-pool connection for HOG_MS. */
const hogSaga = () =>
  defineSaga<Record<string, never>>({
    type: 'pool_hog',
    payload: z.object({}).strict(),
    steps: ['first', 'second'].map((name) => ({
      name,
      timeoutMs: 120_000,
      action: async (ctx: StepContext<Record<string, never>>) => {
        await s.admin.query(
          `INSERT INTO saga_effects (key, saga_id, step, phase) VALUES ($1, $2, $3, 'action')
           ON CONFLICT (key) DO UPDATE SET attempts = saga_effects.attempts + 1`,
          [ctx.idempotencyKey, ctx.sagaId, name],
        );
        await smallSql.query(`SELECT pg_sleep(${HOG_MS / 1000})`);
        return { name };
      },
    })),
  });

async function allSettled(ids: string[], timeoutMs: number): Promise<Array<{ status: string; step_log: LogEntry[] }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = (
      await s.admin.query<{ status: string; step_log: LogEntry[] }>(
        `SELECT status, step_log FROM saga_instances WHERE id = ANY($1::uuid[])`,
        [ids],
      )
    ).rows;
    if (rows.every((r) => ['completed', 'compensated', 'failed'].includes(r.status))) return rows;
    if (Date.now() > deadline) throw new Error(`${rows.filter((r) => r.status === 'running').length} sagas still running`);
    await sleep(100);
  }
}

describe('saga leases under load', () => {
  it(
    `${SAGAS} sagas in flight on one replica, the pool saturated by slow steps, keep their ${LEASE_MS} ms leases: each step runs once`,
    {
      timeout: 120_000,
    },
    async () => {
      const registry = new SagaRegistry([hogSaga()]);
      const deps = testDeps(s, { registry });
      const ids = await Promise.all(
        Array.from({ length: SAGAS }, async () => (await startSaga(deps, user('alice'), { sagaType: 'pool_hog', payload: {} })).id),
      );
      const leaseSession = sessionRunner(session);
      /** A replica on the test's store, leases of LEASE_MS, up to SAGAS at once. */
      const replica = (owner: string, pools: { sql: typeof s.sql; leaseSql?: () => typeof leaseSession }) =>
        new SagaOrchestrator({
          db: s.db,
          ...pools,
          registry,
          owner,
          leaseMs: LEASE_MS,
          pollMs: 50,
          maxConcurrent: SAGAS,
          log: silentLog,
          clock: () => new Date(),
          newId: () => crypto.randomUUID(),
        }).start();
      const o = replica('replica-busy', { sql: smallSql, leaseSql: () => leaseSession });
      running.push(o);
      const t0 = Date.now();
      for (let i = 0; i < 500 && o.running < SAGAS; i++) await sleep(10);
      expect(o.running).toBe(SAGAS);
      // A second replica with a pool of its own: it takes any saga whose lease expires.
      running.push(replica('replica-idle', { sql: s.sql }));
      const rows = await allSettled(ids, 100_000);
      const ms = Date.now() - t0;
      const effects = (
        await s.admin.query<{ attempts: number }>(`SELECT attempts FROM saga_effects WHERE saga_id = ANY($1::uuid[])`, [ids])
      ).rows;
      const ranTwice = effects.filter((e) => e.attempts !== 1).length;
      const taken = rows.filter((r) => r.step_log.some((e) => e.owner !== 'replica-busy')).length;
      console.log(
        `saga leases: ${SAGAS} sagas × 2 steps of ${HOG_MS} ms on a 3-connection pool took ${ms} ms (${Math.round(ms / LEASE_MS)} leases long); sagas the other replica took over: ${taken}; steps run more than once: ${ranTwice}`,
      );
      expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'completed'));
      // The pool was saturated for many lease lengths: the point of the test.
      expect(ms).toBeGreaterThan(3 * LEASE_MS);
      expect(effects).toHaveLength(SAGAS * 2);
      expect(ranTwice).toBe(0);
      expect(taken).toBe(0);
      for (const r of rows)
        expect(r.step_log.map((e) => `${e.step}:${e.outcome}:${e.attempt}`)).toEqual(['first:succeeded:1', 'second:succeeded:1']);
    },
  );

  it('the batched renewal returns only the leases the owner still holds', async () => {
    const registry = new SagaRegistry([effectsSaga(s.admin, { type: 'effects_leases' })]);
    const deps = testDeps(s, { registry });
    const ids = await Promise.all(
      [0, 1, 2].map(async () => (await startSaga(deps, user('alice'), { sagaType: 'effects_leases', payload: {} })).id),
    );
    const claimed = await asSystemSql(s.sql, 'saga-orchestrator', (tx) => claimRunnable(tx, 'replica-a', 60_000, 10, ['effects_leases']));
    expect(claimed.map((r) => r.id).sort()).toEqual([...ids].sort());
    const [mine, taken, finished] = ids as [string, string, string];
    await s.admin.query(`UPDATE saga_instances SET lease_owner = 'replica-b' WHERE id = $1`, [taken]);
    await s.admin.query(`UPDATE saga_instances SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`, [
      finished,
    ]);
    const kept = await asSystemSql(s.sql, 'saga-orchestrator', (tx) => renewLeases(tx, ids, 'replica-a', 60_000));
    expect([...kept]).toEqual([mine]);
    expect((await s.admin.query(`SELECT lease_owner FROM saga_instances WHERE id = $1`, [taken])).rows[0].lease_owner).toBe('replica-b');
  });

  const stealable = (type: string) => {
    const registry = new SagaRegistry([effectsSaga(s.admin, { type, timeoutMs: 20_000 })]);
    const o = new SagaOrchestrator({
      db: s.db,
      sql: s.sql,
      registry,
      owner: 'replica-slow',
      leaseMs: LEASE_MS,
      pollMs: 50,
      maxConcurrent: 4,
      log: silentLog,
      clock: () => new Date(),
      newId: () => crypto.randomUUID(),
    });
    running.push(o);
    return { o, deps: testDeps(s, { registry }) };
  };
  const effectsOf = async (sagaId: string) =>
    (await s.admin.query<{ step: string }>(`SELECT step FROM saga_effects WHERE saga_id = $1 ORDER BY at`, [sagaId])).rows.map(
      (r) => r.step,
    );
  /** Hands the saga to another owner behind the replica's back (as if its lease had expired and another replica claimed it). */
  const steal = (sagaId: string) =>
    s.admin.query(`UPDATE saga_instances SET lease_owner = 'replica-thief', lease_expires_at = now() + interval '1 hour' WHERE id = $1`, [
      sagaId,
    ]);
  const untilIdle = async (o: SagaOrchestrator, ms: number) => {
    for (const end = Date.now() + ms; o.running > 0 && Date.now() < end;) await sleep(10);
    return o.running;
  };

  it('a saga whose lease another replica took stops before its next step', { timeout: 30_000 }, async () => {
    const { o, deps } = stealable('effects_stolen');
    const saga = await startSaga(deps, user('alice'), { sagaType: 'effects_stolen', payload: { stepMs: 1_500 } });
    o.start();
    for (let i = 0; i < 300 && (await effectsOf(saga.id)).length === 0; i++) await sleep(10);
    await steal(saga.id);
    // The step (which does not heed its signal) ends; its outcome is not persisted (fenced) and no next step starts.
    expect(await untilIdle(o, 10_000)).toBe(0);
    await sleep(500);
    expect(await effectsOf(saga.id)).toEqual(['reserve']);
    const row = (await s.admin.query(`SELECT current_step, step_log, lease_owner FROM saga_instances WHERE id = $1`, [saga.id])).rows[0];
    expect(row).toMatchObject({ current_step: 0, step_log: [], lease_owner: 'replica-thief' });
  });

  it('the next batched renewal aborts the running step of a saga whose lease was taken', { timeout: 30_000 }, async () => {
    const { o, deps } = stealable('effects_hung');
    // Its first attempt waits 60 s unless its signal aborts.
    const saga = await startSaga(deps, user('alice'), { sagaType: 'effects_hung', payload: { hangOnceAt: 0 } });
    o.start();
    for (let i = 0; i < 300 && o.running === 0; i++) await sleep(10);
    await sleep(200);
    await steal(saga.id);
    const t0 = Date.now();
    expect(await untilIdle(o, 10_000)).toBe(0);
    // Within a renewal tick (leaseMs / 5) or so, not after the step's 20 s timeout.
    expect(Date.now() - t0).toBeLessThan(LEASE_MS);
    await sleep(300);
    expect(await effectsOf(saga.id)).toEqual([]);
    expect((await s.admin.query(`SELECT step_log FROM saga_instances WHERE id = $1`, [saga.id])).rows[0].step_log).toEqual([]);
  });

  it("renewals run on the write listener's session (as main.ts wires them), and it still hears committed writes", async () => {
    const listener = startWriteListener({ connectionString: s.appUrl, log: silentLog });
    try {
      for (let i = 0; i < 300 && !listener.listening(); i++) await sleep(10);
      const session = listener.session();
      expect(session).toBeDefined();
      const app = await asSystemSql(session!, 'saga-orchestrator', async (tx) => {
        await renewLeases(tx, [crypto.randomUUID()], 'replica-a', LEASE_MS);
        return (await tx.query<{ name: string }>(`SELECT application_name AS name FROM pg_stat_activity WHERE pid = pg_backend_pid()`))[0]!
          .name;
      });
      expect(app).toBe(WRITE_LISTENER_APP_NAME);
      const heard = new Promise<void>((resolve) => listener.outboxWritten.listen(resolve));
      await s.admin.query(`NOTIFY outbox_written`);
      await expect(Promise.race([heard.then(() => 'heard'), sleep(5_000).then(() => 'not heard')])).resolves.toBe('heard');
    } finally {
      await listener.stop();
    }
    // Down: no session to offer (the keeper falls back to the saga pool).
    expect(listener.session()).toBeUndefined();
  });
});
