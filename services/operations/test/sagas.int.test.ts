import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SagaRegistry } from '../src/domain/sagas/definition.js';
import { SagaOrchestrator } from '../src/domain/sagas/orchestrator.js';
import { teamOnboardingSaga } from '../src/domain/sagas/definitions/team-onboarding.js';
import { startSaga } from '../src/domain/saga-instances.js';
import { readStream } from '../src/store/event-store.js';
import { callerFor, codeOf, silentLog, testDeps, user } from './support/callers.js';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';
import { EFFECTS_DDL, effectsSaga, succeeded, type LogEntry } from './support/test-sagas.js';

let s: ScratchDb;
let setupError: unknown;
let registry: SagaRegistry;
const spans = new InMemorySpanExporter();
const tracing = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });

beforeAll(async () => {
  try {
    s = await migratedScratchDb('sagas', { poolMax: 16 });
    await s.admin.query(EFFECTS_DDL);
    registry = new SagaRegistry([
      effectsSaga(s.admin, { timeoutMs: 1_000 }),
      // Same steps with room for a loaded machine (only the timeout test needs the short timeout).
      effectsSaga(s.admin, { type: 'effects_patient', timeoutMs: 10_000 }),
      teamOnboardingSaga({ db: s.db, sql: s.sql, clock: () => new Date(), newId: () => crypto.randomUUID() }),
    ]);
    trace.setGlobalTracerProvider(tracing);
  } catch (e) {
    setupError = e;
  }
});
beforeEach(() => {
  if (setupError) throw setupError;
});
afterAll(async () => {
  trace.disable();
  await s?.drop();
});

const running: SagaOrchestrator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
});

function orchestrator(owner: string, over: { maxConcurrent?: number; leaseMs?: number } = {}) {
  const o = new SagaOrchestrator({
    db: s.db,
    sql: s.sql,
    registry,
    owner,
    leaseMs: over.leaseMs ?? 2_000,
    pollMs: 50,
    maxConcurrent: over.maxConcurrent ?? 8,
    log: silentLog,
    clock: () => new Date(),
    newId: () => crypto.randomUUID(),
  }).start();
  running.push(o);
  return o;
}

const deps = () => testDeps(s, { registry, pokeSagas: () => running.forEach((o) => o.poke()) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settled(id: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await s.admin.query(`SELECT status, step_log, current_step, error FROM saga_instances WHERE id = $1`, [id])).rows[0];
    if (['completed', 'compensated', 'failed'].includes(row.status))
      return row as { status: string; step_log: LogEntry[]; current_step: number; error: string | null };
    if (Date.now() > deadline) throw new Error(`saga ${id} still ${row.status}`);
    await sleep(25);
  }
}

const effects = async (sagaId: string) =>
  (
    await s.admin.query<{ step: string; phase: string; attempts: number }>(
      `SELECT step, phase, attempts FROM saga_effects WHERE saga_id = $1 ORDER BY at`,
      [sagaId],
    )
  ).rows;

describe('saga orchestrator', () => {
  it('runs the steps in order, persisting each, and completes (sagas.start/get/list)', async () => {
    orchestrator('replica-a');
    const alice = callerFor(deps(), user('alice'));
    const started = await alice.sagas.start({ sagaType: 'effects_patient', payload: {} });
    expect(started).toMatchObject({ status: 'running', created: true, currentStep: 0 });
    const done = await settled(started.id);
    expect(done.status).toBe('completed');
    expect(succeeded(done.step_log)).toEqual(['action:reserve', 'action:charge', 'action:ship']);
    expect((await effects(started.id)).map((e) => [e.step, e.phase, e.attempts])).toEqual([
      ['reserve', 'action', 1],
      ['charge', 'action', 1],
      ['ship', 'action', 1],
    ]);
    const wf = await alice.sagas.get({ id: started.id });
    expect(wf).toMatchObject({ status: 'completed', currentStep: 3, outputs: { reserve: { step: 'reserve', attempt: 1 } } });
    expect(wf.finishedAt).not.toBeNull();
    expect((await alice.sagas.list({ status: 'completed' })).items.map((w) => w.id)).toContain(started.id);
    expect(await codeOf(callerFor(deps(), user('bob')).sagas.get({ id: started.id }))).toBe('NOT_FOUND');

    // Saga state changes went to the event stream and the outbox.
    expect((await readStream(s.sql, started.id)).map((e) => e.eventType)).toEqual([
      'SagaStarted',
      'StepSucceeded',
      'StepSucceeded',
      'StepSucceeded',
      'SagaCompleted',
    ]);
    const outbox = await s.admin.query(
      `SELECT subject, envelope->'data' AS data FROM outbox WHERE envelope->'data'->>'sagaId' = $1 ORDER BY seq`,
      [started.id],
    );
    // The saga's events and one step event per step change, each step's output summarised.
    expect(
      outbox.rows.map((r) => (r.subject === 'operations.saga.step.changed' ? `step ${r.data.name} ${r.data.status}` : r.subject)),
    ).toEqual([
      'operations.saga.started',
      'step reserve running',
      'step reserve succeeded',
      'step charge running',
      'step charge succeeded',
      'step ship running',
      'step ship succeeded',
      'operations.saga.completed',
    ]);
    expect(outbox.rows.find((r) => r.data.name === 'ship' && r.data.status === 'succeeded').data.output).toEqual({
      step: 'ship',
      attempt: 1,
    });

    // Every step is a span carrying the saga id.
    await tracing.forceFlush();
    const stepSpans = spans.getFinishedSpans().filter((sp) => sp.attributes['saga.id'] === started.id);
    expect(stepSpans.map((sp) => sp.name)).toEqual([
      'saga.action effects_patient.reserve',
      'saga.action effects_patient.charge',
      'saga.action effects_patient.ship',
    ]);
  });

  it('compensates the completed steps in reverse order when a step fails for good', async () => {
    orchestrator('replica-a');
    const saga = await startSaga(deps(), user('alice'), { sagaType: 'effects_patient', payload: { failAt: 2 } });
    const done = await settled(saga.id);
    expect(done.status).toBe('compensated');
    expect(done.error).toMatch(/ship: ship declined/);
    expect(succeeded(done.step_log)).toEqual(['action:reserve', 'action:charge', 'compensation:charge', 'compensation:reserve']);
    expect(done.step_log.filter((e) => e.outcome === 'gave_up').map((e) => e.step)).toEqual(['ship']); // permanent: no retries
    expect((await effects(saga.id)).map((e) => `${e.phase}:${e.step}`)).toEqual([
      'action:reserve',
      'action:charge',
      'compensation:charge',
      'compensation:reserve',
    ]);
    const outbox = await s.admin.query(
      `SELECT subject, envelope->'data' AS data FROM outbox WHERE envelope->'data'->>'sagaId' = $1 ORDER BY seq`,
      [saga.id],
    );
    const sagaEvents = outbox.rows.filter((r) => r.subject !== 'operations.saga.step.changed');
    expect(sagaEvents.map((r) => `${r.subject}@${r.data.version}`)).toEqual([
      'operations.saga.started@1',
      'operations.saga.compensating@4',
      'operations.saga.compensated@7',
    ]);
    // Every step change is announced in the transaction that records it, ordered by the saga's version.
    const steps = outbox.rows
      .filter((r) => r.subject === 'operations.saga.step.changed')
      .map((r) => `${r.data.phase}:${r.data.name}#${r.data.index}:${r.data.status}@${r.data.version}`);
    expect(steps).toEqual([
      'action:reserve#0:running@1',
      'action:reserve#0:succeeded@2',
      'action:charge#1:running@2',
      'action:charge#1:succeeded@3',
      'action:ship#2:running@3',
      'action:ship#2:failed@4',
      'compensation:charge#1:running@4',
      'compensation:charge#1:succeeded@5',
      'compensation:reserve#0:running@5',
      'compensation:reserve#0:succeeded@6',
    ]);
    const failed = outbox.rows.find((r) => r.subject === 'operations.saga.step.changed' && r.data.status === 'failed');
    expect(failed.data).toMatchObject({ sagaType: 'effects_patient', startedBy: 'alice', error: 'ship declined', attempt: 1 });
  });

  it('times a hanging step out and retries it with the same idempotency key', async () => {
    orchestrator('replica-a');
    const saga = await startSaga(deps(), user('alice'), { sagaType: 'effects', payload: { hangOnceAt: 1 } });
    const done = await settled(saga.id);
    expect(done.status).toBe('completed');
    const charge = done.step_log.filter((e) => e.step === 'charge');
    expect(charge.map((e) => [e.outcome, e.attempt])).toEqual([
      ['failed', 1],
      ['succeeded', 2],
    ]);
    // The failed attempt is announced as `retrying` (in the transaction that logged it), with the saga's version then.
    const retrying = await s.admin.query(
      `SELECT envelope->'data' AS data FROM outbox WHERE envelope->'data'->>'sagaId' = $1 AND subject = 'operations.saga.step.changed' AND envelope->'data'->>'status' = 'retrying'`,
      [saga.id],
    );
    expect(retrying.rows.map((r) => [r.data.name, r.data.phase, r.data.attempt, r.data.version, r.data.error])).toEqual([
      ['charge', 'action', 1, 3, 'timed out after 1000 ms'],
    ]);
    expect(charge[0]!.error).toMatch(/timed out after 1000 ms/);
  });

  it('starts once per idempotency key, and refuses unknown types and bad payloads with BAD_REQUEST', async () => {
    const alice = callerFor(deps(), user('alice'));
    const a = await alice.sagas.start({ sagaType: 'effects', payload: {}, idempotencyKey: 'order-42' });
    const b = await alice.sagas.start({ sagaType: 'effects', payload: {}, idempotencyKey: 'order-42' });
    expect(b).toMatchObject({ id: a.id, created: false });
    const c = await callerFor(deps(), user('bob')).sagas.start({ sagaType: 'effects', payload: {}, idempotencyKey: 'order-42' });
    expect(c.id).not.toBe(a.id); // keys are per caller
    expect(await codeOf(alice.sagas.start({ sagaType: 'nope', payload: {} }))).toBe('BAD_REQUEST');
    expect(await codeOf(alice.sagas.start({ sagaType: 'effects', payload: { failAt: 9 } }))).toBe('BAD_REQUEST');
    orchestrator('replica-a');
    await settled(a.id);
    await settled(c.id);
  });

  it('several replicas: each saga has one owner at a time and each step runs once', async () => {
    const sagas = await Promise.all(
      Array.from({ length: 24 }, () => startSaga(deps(), user('alice'), { sagaType: 'effects_patient', payload: { stepMs: 30 } })),
    );
    orchestrator('replica-a', { maxConcurrent: 4 });
    orchestrator('replica-b', { maxConcurrent: 4 });
    orchestrator('replica-c', { maxConcurrent: 4 });
    const owners = new Set<string>();
    for (const saga of sagas) {
      const done = await settled(saga.id, 30_000);
      expect(done.status).toBe('completed');
      expect(succeeded(done.step_log)).toEqual(['action:reserve', 'action:charge', 'action:ship']);
      expect(done.step_log).toHaveLength(3);
      done.step_log.forEach((e) => owners.add(e.owner));
      expect((await effects(saga.id)).map((e) => e.attempts)).toEqual([1, 1, 1]);
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  it('a replica that lost its lease stops without overwriting the new owner', async () => {
    const saga = await startSaga(deps(), user('alice'), { sagaType: 'effects_patient', payload: { stepMs: 400 } });
    orchestrator('replica-slow', { leaseMs: 60_000 });
    // Wait until the first step runs, then hand the saga to another owner behind the replica's back.
    for (let i = 0; i < 200 && (await effects(saga.id)).length === 0; i++) await sleep(10);
    await s.admin.query(
      `UPDATE saga_instances SET lease_owner = 'replica-thief', lease_expires_at = now() + interval '1 hour' WHERE id = $1`,
      [saga.id],
    );
    await sleep(600);
    const row = (await s.admin.query(`SELECT status, current_step, step_log, version FROM saga_instances WHERE id = $1`, [saga.id]))
      .rows[0];
    expect(row).toMatchObject({ status: 'running', current_step: 0, step_log: [], version: 1 });
    expect((await readStream(s.sql, saga.id)).map((e) => e.eventType)).toEqual(['SagaStarted']);
  });

  it('team_onboarding: creates the team, members and kickoff task; an unknown member undoes the team', async () => {
    orchestrator('replica-a');
    const bob = callerFor(deps(), user('bob'));
    await bob.users.me({});
    const alice = callerFor(deps(), user('alice'));
    const ok = await alice.sagas.start({
      sagaType: 'team_onboarding',
      payload: {
        teamName: 'onboarded',
        members: [{ userId: 'bob', role: 'member' }],
        kickoffTask: { title: 'kick off', subtasks: ['agenda'] },
      },
    });
    expect((await settled(ok.id)).status).toBe('completed');
    const teamId = ((await alice.sagas.get({ id: ok.id })).outputs['create_team'] as { teamId: string }).teamId;
    const team = await alice.teams.get({ id: teamId });
    expect(team.members.map((m) => [m.userId, m.role]).sort()).toEqual([
      ['alice', 'owner'],
      ['bob', 'member'],
    ]);
    expect((await bob.tasks.list({ teamId })).items.map((t) => t.title).sort()).toEqual(['agenda', 'kick off']);

    const bad = await alice.sagas.start({ sagaType: 'team_onboarding', payload: { teamName: 'doomed', members: [{ userId: 'ghost' }] } });
    const done = await settled(bad.id);
    expect(done.status).toBe('compensated');
    expect(done.error).toMatch(/user ghost does not exist/);
    expect((await s.admin.query(`SELECT count(*)::int AS n FROM teams WHERE name = 'doomed'`)).rows[0].n).toBe(0);
  });
});
