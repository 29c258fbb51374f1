import type { EventData, TypedEnvelope } from '@platform/contracts';
import { createEnvelope, systemClock, uuid } from '@platform/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordedIds, type RecordedSubject } from '../src/domain/recorded-runs.js';
import { recordEvent } from '../src/events/recorder.js';
import type { RecordDeps } from '../src/store/recorded-runs.js';
import { expectTrpcError } from './support/errors.js';
import { log, startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

/**
 * The platform's sagas, tasks and jobs recorded as runs, against the real Neo4j: events are handed
 * to the recorder in the orders a redelivering, retrying stream can produce (children first, older
 * after newer, twice), and the runs are read back through the runs API as their owners would.
 */
let h: Harness;
let deps: RecordDeps;
let alice: KnowledgeCaller;
let bob: KnowledgeCaller;
const runIds: string[] = [];

beforeAll(async () => {
  h = await startHarness('kb-rec');
  deps = { graph: h.graph, clock: systemClock, newId: uuid, log };
  alice = h.caller({ kind: 'user', id: `alice-${h.tag}`, roles: [] });
  bob = h.caller({ kind: 'user', id: `bob-${h.tag}`, roles: [] });
});
afterAll(async () => {
  // Recorded runs have no sessionId to clean up by: remove them by id.
  await h?.graph.driver.executeQuery(
    `UNWIND $ids AS id MATCH (r:WorkflowRun {id: id})
     OPTIONAL MATCH (s:WorkflowStep {runId: id}) OPTIONAL MATCH (c:StepChange {runId: id})
     DETACH DELETE r, s, c`,
    { ids: runIds },
    { database: h.graph.database },
  );
  await h?.cleanup();
});

let minute = 0;
/** Envelopes as the owning services write them; `at` spaces task events a second apart (their order key). */
function ev<S extends RecordedSubject>(subject: S, data: EventData<S>): TypedEnvelope<S> {
  const source = subject.startsWith('operations.') ? 'operations' : 'coordination';
  return createEnvelope(source, subject, data, { clock: () => new Date(Date.UTC(2026, 0, 1, 0, 0, minute++)) });
}

const tree = async (caller: KnowledgeCaller, runId: string) =>
  (await caller.runs.tree({ runId })).steps.map((s) => `${'  '.repeat(s.depth)}${s.name} ${s.status}`);

/** The events of a saga with steps reserve, charge, ship where ship fails and the others are undone. */
function compensatedSaga(sagaId: string, startedBy: string) {
  const base = { sagaId, sagaType: 'checkout', startedBy };
  const saga = (
    subject: 'operations.saga.started' | 'operations.saga.compensating' | 'operations.saga.compensated',
    status: 'running' | 'compensating' | 'compensated',
    currentStep: number,
    version: number,
    error: string | null = null,
  ) => ev(subject, { ...base, status, currentStep, error, version });
  const step = (
    index: number,
    name: string,
    phase: 'action' | 'compensation',
    status: 'running' | 'retrying' | 'succeeded' | 'failed',
    version: number,
    extra: { output?: unknown; error?: string } = {},
  ) =>
    ev('operations.saga.step.changed', {
      ...base,
      version,
      index,
      name,
      phase,
      status,
      attempt: status === 'running' ? 0 : 1,
      error: extra.error ?? null,
      ...(extra.output !== undefined ? { output: extra.output } : {}),
    });
  return [
    saga('operations.saga.started', 'running', 0, 1),
    step(0, 'reserve', 'action', 'running', 1),
    step(0, 'reserve', 'action', 'succeeded', 2, { output: { reserved: 3 } }),
    step(1, 'charge', 'action', 'running', 2),
    step(1, 'charge', 'action', 'retrying', 3, { error: 'card network timeout' }),
    step(1, 'charge', 'action', 'succeeded', 4, { output: { charged: 42 } }),
    step(2, 'ship', 'action', 'running', 4),
    step(2, 'ship', 'action', 'failed', 5, { error: 'ship declined' }),
    step(1, 'charge', 'compensation', 'running', 5),
    saga('operations.saga.compensating', 'compensating', 1, 5, 'ship: ship declined'),
    step(1, 'charge', 'compensation', 'succeeded', 6),
    step(0, 'reserve', 'compensation', 'running', 6),
    step(0, 'reserve', 'compensation', 'succeeded', 7),
    saga('operations.saga.compensated', 'compensated', -1, 8, 'ship: ship declined'),
  ];
}

const COMPENSATED_TREE = [
  'checkout failed',
  '  reserve succeeded',
  '    compensate reserve succeeded',
  '  charge succeeded',
  '    compensate charge succeeded',
  '  ship failed',
];

async function recordAll(events: Array<TypedEnvelope<RecordedSubject>>): Promise<number> {
  let changes = 0;
  for (const e of events) changes += await recordEvent(deps, e);
  return changes;
}

describe('sagas recorded as runs', () => {
  it('records a saga as a run: a step per saga step, compensations under the steps they undo, owned by its starter', async () => {
    const sagaId = crypto.randomUUID();
    const runId = recordedIds.sagaRun(sagaId);
    runIds.push(runId);
    await recordAll(compensatedSaga(sagaId, `alice-${h.tag}`));

    expect(await tree(alice, runId)).toEqual(COMPENSATED_TREE);
    const { run, steps } = await alice.runs.tree({ runId });
    expect(run).toMatchObject({
      id: runId,
      kind: 'saga',
      name: 'checkout',
      owner: { kind: 'user', id: `alice-${h.tag}` },
      teamId: null,
      rootStepId: recordedIds.sagaRoot(sagaId),
    });
    expect(steps.find((s) => s.name === 'charge')).toMatchObject({
      id: recordedIds.sagaStep(sagaId, 1),
      output: { phase: 'action', stepStatus: 'succeeded', attempt: 1, output: { charged: 42 } },
    });
    expect(steps.find((s) => s.name === 'ship')!.output).toMatchObject({ error: 'ship declined' });
    expect(steps[0]!.output).toEqual({ sagaStatus: 'compensated', currentStep: -1, error: 'ship: ship declined' });
    // Another user does not see it, and it lists with the other sagas.
    await expectTrpcError(bob.runs.tree({ runId }), 'NOT_FOUND');
    expect((await alice.runs.list({ kind: 'saga' })).items.map((r) => r.id)).toContain(runId);
    expect((await alice.runs.list({ kind: 'manual' })).items.map((r) => r.id)).not.toContain(runId);
  });

  it('builds the same run when every event arrives in reverse (children before parents, older after newer)', async () => {
    const sagaId = crypto.randomUUID();
    const runId = recordedIds.sagaRun(sagaId);
    runIds.push(runId);
    await recordAll(compensatedSaga(sagaId, `alice-${h.tag}`).reverse());
    expect(await tree(alice, runId)).toEqual(COMPENSATED_TREE);
    const { steps } = await alice.runs.tree({ runId });
    // The newest observation of each step won: charge succeeded, not its older `running` or `retrying`.
    expect(steps.find((s) => s.name === 'charge')!.output).toMatchObject({ stepStatus: 'succeeded', output: { charged: 42 } });
  });

  it('changes nothing when events are delivered again', async () => {
    const sagaId = crypto.randomUUID();
    const runId = recordedIds.sagaRun(sagaId);
    runIds.push(runId);
    const events = compensatedSaga(sagaId, `alice-${h.tag}`);
    expect(await recordAll(events)).toBeGreaterThan(0);
    const before = await alice.runs.replay({ runId });
    expect(await recordAll(events)).toBe(0);
    expect(await recordAll([...events].reverse())).toBe(0);
    const after = await alice.runs.replay({ runId });
    expect(after.run.seq).toBe(before.run.seq);
    expect(after.changes).toEqual(before.changes);
  });

  it('two replicas recording the same events at once, in different orders, build the same run', async () => {
    const sagaId = crypto.randomUUID();
    const runId = recordedIds.sagaRun(sagaId);
    runIds.push(runId);
    const events = compensatedSaga(sagaId, `alice-${h.tag}`);
    // As consumeEvents does: a failed handling (two replicas creating one node) is delivered again.
    const deliver = async (e: TypedEnvelope<RecordedSubject>) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await recordEvent(deps, e);
        } catch (err) {
          if (attempt >= 5) throw err;
        }
      }
    };
    const shuffled = [...events].sort(() => Math.random() - 0.5);
    await Promise.all([
      (async () => {
        for (const e of events) await deliver(e);
      })(),
      (async () => {
        for (const e of shuffled) await deliver(e);
      })(),
    ]);
    expect(await tree(alice, runId)).toEqual(COMPENSATED_TREE);
    const { changes, run } = await alice.runs.replay({ runId });
    expect(changes.map((c) => c.seq)).toEqual(Array.from({ length: run.seq }, (_, i) => i + 1));
  });

  it('replays a recorded saga as it was at any seq', async () => {
    const sagaId = crypto.randomUUID();
    const runId = recordedIds.sagaRun(sagaId);
    runIds.push(runId);
    await recordAll(compensatedSaga(sagaId, `alice-${h.tag}`));
    const full = await alice.runs.replay({ runId });
    expect(full.changes.map((c) => c.seq)).toEqual(Array.from({ length: full.run.seq }, (_, i) => i + 1));
    const shipFailed = full.changes.find((c) => c.name === 'ship' && c.status === 'failed')!;
    const before = await alice.runs.replay({ runId, untilSeq: shipFailed.seq - 1 });
    expect(before.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      'checkout running',
      'reserve succeeded',
      'charge succeeded',
      'ship running',
    ]);
    const at = await alice.runs.replay({ runId, untilSeq: shipFailed.seq });
    expect(at.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      'checkout running',
      'reserve succeeded',
      'charge succeeded',
      'ship failed',
    ]);
    const end = await alice.runs.replay({ runId });
    expect(end.steps.map((s) => `${'  '.repeat(s.depth)}${s.name} ${s.status}`)).toEqual(COMPENSATED_TREE);
  });

  it('refuses changes through the API: a recorded run follows its events only', async () => {
    const sagaId = crypto.randomUUID();
    runIds.push(recordedIds.sagaRun(sagaId));
    await recordAll(compensatedSaga(sagaId, `alice-${h.tag}`));
    await expectTrpcError(alice.runs.updateStep({ stepId: recordedIds.sagaStep(sagaId, 2), status: 'running' }), 'BAD_REQUEST');
    await expectTrpcError(
      alice.runs.addSteps({ runId: recordedIds.sagaRun(sagaId), steps: [{ parentId: recordedIds.sagaRoot(sagaId), name: 'x' }] }),
      'BAD_REQUEST',
    );
  });
});

describe('tasks and jobs recorded as runs', () => {
  const task = (
    subject: 'operations.task.created' | 'operations.task.updated',
    taskId: string,
    parentId: string | null,
    status: EventData<'operations.task.created'>['status'],
    ownerId: string,
  ) => ev(subject, { taskId, ownerId, status, priority: 'P2', parentId, blockId: null, teamId: null, dueAt: null });
  const job = (
    subject: 'coordination.job.queued' | 'coordination.job.started' | 'coordination.job.succeeded',
    jobId: string,
    targetId: string | null,
    version: number,
    ownerId: string,
  ) =>
    ev(subject, {
      jobId,
      jobType: 'gap_analysis',
      status: subject === 'coordination.job.queued' ? 'queued' : subject === 'coordination.job.started' ? 'running' : 'succeeded',
      targetKind: targetId ? 'task' : 'none',
      targetId,
      attempt: subject === 'coordination.job.queued' ? 0 : 1,
      agent: subject === 'coordination.job.queued' ? null : 'agent-7',
      owner: { kind: 'user', id: ownerId },
      version,
      ...(subject === 'coordination.job.succeeded' ? { result: { gaps: 2 } } : {}),
    });

  it('a task with subtasks is its tree, and a job for a task lands under it, whatever order the events come in', async () => {
    const owner = `alice-${h.tag}`;
    const [a, b, c, j] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    runIds.push(recordedIds.taskRun(a), recordedIds.taskRun(b), recordedIds.taskRun(c));
    const events = {
      a: task('operations.task.created', a, null, 'todo', owner),
      b: task('operations.task.created', b, a, 'todo', owner),
      c: task('operations.task.created', c, b, 'todo', owner),
      queued: job('coordination.job.queued', j, c, 1, owner),
      started: job('coordination.job.started', j, c, 2, owner),
      done: job('coordination.job.succeeded', j, c, 3, owner),
      cDone: task('operations.task.updated', c, b, 'done', owner),
    };
    // The deepest first: the job names task c before c is known, c names b, b names a.
    await recordAll([events.started, events.done, events.queued, events.c, events.cDone, events.b, events.a]);
    const runId = recordedIds.taskRun(a);
    expect(await tree(alice, runId)).toEqual([
      `task ${a} pending`,
      `  task ${b} pending`,
      `    task ${c} succeeded`,
      '      gap_analysis job succeeded',
    ]);
    const { run, steps } = await alice.runs.tree({ runId });
    expect(run).toMatchObject({ kind: 'task', owner: { kind: 'user', id: owner } });
    expect(steps.at(-1)).toMatchObject({
      id: recordedIds.jobStep(j),
      output: { jobStatus: 'succeeded', attempt: 1, agent: 'agent-7', result: { gaps: 2 } },
    });
    // The runs the placeholders rooted were folded into a's: nothing is left of them.
    for (const gone of [recordedIds.taskRun(b), recordedIds.taskRun(c)])
      await expectTrpcError(alice.runs.tree({ runId: gone }), 'NOT_FOUND');
    await expectTrpcError(bob.runs.tree({ runId }), 'NOT_FOUND');
    // The path from the job to the top-level task.
    expect((await alice.runs.pathToRoot({ stepId: recordedIds.jobStep(j) })).steps.map((s) => s.id)).toEqual([
      recordedIds.jobStep(j),
      recordedIds.taskStep(c),
      recordedIds.taskStep(b),
      recordedIds.taskStep(a),
    ]);
    // Its replay holds every step from the moment it joined, and the same events again change nothing.
    const replay = await alice.runs.replay({ runId });
    expect(replay.steps.map((s) => s.id)).toEqual(steps.map((s) => s.id));
    expect(await recordAll(Object.values(events))).toBe(0);
  });

  it('follows a task moved to the top level, into another tree and back, replaying each run as it was', async () => {
    const owner = `alice-${h.tag}`;
    const [a, b, c, d, j] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    runIds.push(recordedIds.taskRun(a), recordedIds.taskRun(b), recordedIds.taskRun(d));
    const created = { a: task('operations.task.created', a, null, 'todo', owner), b: task('operations.task.created', b, a, 'todo', owner) };
    await recordAll([
      created.a,
      created.b,
      task('operations.task.created', c, b, 'todo', owner),
      job('coordination.job.queued', j, c, 1, owner),
      task('operations.task.created', d, null, 'todo', owner),
    ]);
    const runA = recordedIds.taskRun(a);
    expect(await tree(alice, runA)).toEqual([
      `task ${a} pending`,
      `  task ${b} pending`,
      `    task ${c} pending`,
      '      gap_analysis job pending',
    ]);
    const beforeMove = (await alice.runs.tree({ runId: runA })).run.seq;

    // b (with c and the job) moves to the top level: it leaves a's run and roots its own.
    await recordAll([task('operations.task.updated', b, null, 'in_progress', owner)]);
    expect(await tree(alice, runA)).toEqual([`task ${a} pending`]);
    expect(await tree(alice, recordedIds.taskRun(b))).toEqual([`task ${b} running`, `  task ${c} pending`, '    gap_analysis job pending']);
    // a's replay: before the move the subtree is there, after it gone.
    expect((await alice.runs.replay({ runId: runA, untilSeq: beforeMove })).steps.map((s) => s.name)).toEqual([
      `task ${a}`,
      `task ${b}`,
      `task ${c}`,
      'gap_analysis job',
    ]);
    expect((await alice.runs.replay({ runId: runA })).steps.map((s) => s.name)).toEqual([`task ${a}`]);
    // The late, older event that put b under a changes nothing.
    expect(await recordAll([created.b])).toBe(0);
    expect(await tree(alice, recordedIds.taskRun(b))).toEqual([`task ${b} running`, `  task ${c} pending`, '    gap_analysis job pending']);

    // b joins d's tree (its own run is folded in), then c (not a root) moves back under a.
    await recordAll([task('operations.task.updated', b, d, 'in_progress', owner)]);
    await expectTrpcError(alice.runs.tree({ runId: recordedIds.taskRun(b) }), 'NOT_FOUND');
    expect(await tree(alice, recordedIds.taskRun(d))).toEqual([
      `task ${d} pending`,
      `  task ${b} running`,
      `    task ${c} pending`,
      '      gap_analysis job pending',
    ]);
    await recordAll([task('operations.task.updated', c, a, 'done', owner)]);
    expect(await tree(alice, recordedIds.taskRun(d))).toEqual([`task ${d} pending`, `  task ${b} running`]);
    expect(await tree(alice, runA)).toEqual([`task ${a} pending`, `  task ${c} succeeded`, '    gap_analysis job pending']);
    for (const runId of [runA, recordedIds.taskRun(d)]) {
      const replay = await alice.runs.replay({ runId });
      expect(replay.changes.map((x) => x.seq)).toEqual(Array.from({ length: replay.run.seq }, (_, i) => i + 1));
      expect(replay.steps.map((x) => x.id)).toEqual((await alice.runs.tree({ runId })).steps.map((x) => x.id));
    }
  });

  it('in order, the same tree; a job without a task is a run of its own, owned by its owner', async () => {
    const owner = `alice-${h.tag}`;
    const [a, b, j, solo] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    runIds.push(recordedIds.taskRun(a), recordedIds.jobRun(solo));
    await recordAll([
      task('operations.task.created', a, null, 'in_progress', owner),
      task('operations.task.created', b, a, 'todo', owner),
      job('coordination.job.queued', j, b, 1, owner),
      job('coordination.job.started', j, b, 2, owner),
    ]);
    expect(await tree(alice, recordedIds.taskRun(a))).toEqual([`task ${a} running`, `  task ${b} pending`, '    gap_analysis job running']);
    await recordAll([job('coordination.job.succeeded', solo, null, 3, owner), job('coordination.job.queued', solo, null, 1, owner)]);
    const { run } = await alice.runs.tree({ runId: recordedIds.jobRun(solo) });
    expect(run).toMatchObject({ kind: 'job', name: 'gap_analysis job', owner: { kind: 'user', id: owner } });
    expect(await tree(alice, recordedIds.jobRun(solo))).toEqual(['gap_analysis job succeeded']);
    await expectTrpcError(bob.runs.tree({ runId: recordedIds.jobRun(solo) }), 'NOT_FOUND');
  });
});
