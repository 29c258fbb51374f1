import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordedIds } from '../../services/knowledge/src/domain/recorded-runs.js';
import { clientsFor, eventually, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';

// The platform's workflows land in knowledge's graph by themselves: the three services as processes
// on the real stores, a saga started in operations (one that completes, one whose last step fails
// and is compensated) and a job triggered in coordination for a subtask and run by an agent; each
// appears in knowledge as a run, read through the runs API as its owner.

const ports = { knowledge: 4351, operations: 4352, coordination: 4353 };
const runTag = `recorded-${Date.now()}`;
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ ports });
}, 180_000);

afterAll(async () => {
  await system?.stop();
});

type Clients = ReturnType<typeof clientsFor>;
const treeOf = async (c: Clients, runId: string) =>
  (await c.knowledge.runs.tree.query({ runId })).steps.map((s) => `${'  '.repeat(s.depth)}${s.name} ${s.status}`);
/** The tree once it looks like `want` (the recorder consumes the events asynchronously). */
const settledTree = (c: Clients, runId: string, want: string[], what: string) =>
  eventually(
    () => treeOf(c, runId).catch((e: unknown) => [String(e)]),
    (t) => JSON.stringify(t) === JSON.stringify(want),
    120_000,
    what,
  );

it('a saga started in operations and a job run in coordination appear in knowledge as runs', { timeout: 400_000 }, async () => {
  const aliceId = `alice-${runTag}`;
  const alice = clientsFor(await tokenFor({ kind: 'user', id: aliceId, roles: [] }), ports);
  const bob = clientsFor(await tokenFor({ kind: 'user', id: `bob-${runTag}`, roles: [] }), ports);

  // A saga that completes: its run has the saga as root and a step per saga step.
  const ok = await alice.operations.sagas.start.mutate({ sagaType: 'team_onboarding', payload: { teamName: `${runTag}-team` } });
  const okRun = recordedIds.sagaRun(ok.id);
  const t0 = Date.now();
  expect(
    await settledTree(
      alice,
      okRun,
      ['team_onboarding succeeded', '  create_team succeeded', '  add_members succeeded', '  create_kickoff_task succeeded'],
      'the completed saga recorded',
    ),
  ).toBeDefined();
  console.log(`completed saga recorded ${Date.now() - t0} ms after its start returned`);
  const { run } = await alice.knowledge.runs.tree.query({ runId: okRun });
  expect(run).toMatchObject({ kind: 'saga', name: 'team_onboarding', owner: { kind: 'user', id: aliceId } });
  await expect(bob.knowledge.runs.tree.query({ runId: okRun })).rejects.toThrow(/not found/i);

  // A saga whose second step fails: the first step's compensation hangs under it.
  const bad = await alice.operations.sagas.start.mutate({
    sagaType: 'team_onboarding',
    payload: { teamName: `${runTag}-doomed`, members: [{ userId: `ghost-${runTag}` }] },
  });
  expect(
    (
      await eventually(
        () => alice.operations.sagas.get.query({ id: bad.id }),
        (s) => s.status === 'compensated',
        60_000,
        'saga compensated',
      )
    ).status,
  ).toBe('compensated');
  await settledTree(
    alice,
    recordedIds.sagaRun(bad.id),
    ['team_onboarding failed', '  create_team succeeded', '    compensate create_team succeeded', '  add_members failed'],
    'the compensated saga recorded',
  );

  // A task with a subtask, and a job for the subtask run by an agent: one run, the job under the subtask.
  const task = await alice.operations.tasks.create.mutate({
    title: `${runTag} task`,
    priority: 'P2',
    subtasks: [{ title: `${runTag} subtask` }],
  });
  const subtask = task.subtasks[0]!.id;
  await system.startAgent(`agent-${runTag}`);
  const job = await alice.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: subtask, params: { target: runTag } });
  await eventually(
    () => alice.coordination.jobs.get.query({ jobId: job.jobId }),
    (j) => j.status === 'succeeded',
    60_000,
    'job succeeded',
  );
  // The job's success completes the subtask (operations consumes it): the subtask step follows.
  const taskRun = recordedIds.taskRun(task.id);
  await settledTree(
    alice,
    taskRun,
    [`task ${task.id} pending`, `  task ${subtask} succeeded`, '    build job succeeded'],
    'the task tree with its job recorded',
  );
  const tree = await alice.knowledge.runs.tree.query({ runId: taskRun });
  expect(tree.run).toMatchObject({ kind: 'task', owner: { kind: 'user', id: aliceId } });
  expect(tree.steps.at(-1)).toMatchObject({
    id: recordedIds.jobStep(job.jobId),
    output: { jobStatus: 'succeeded', agent: `agent-${runTag}` },
  });
  // Replay shows the job's path: queued, running, succeeded.
  const replay = await alice.knowledge.runs.replay.query({ runId: taskRun });
  expect(replay.changes.filter((c) => c.stepId === recordedIds.jobStep(job.jobId)).map((c) => c.status)).toEqual([
    'pending',
    'running',
    'succeeded',
  ]);
  expect((await alice.knowledge.runs.list.query({ kind: 'saga' })).items.map((r) => r.id)).toEqual(
    expect.arrayContaining([okRun, recordedIds.sagaRun(bad.id)]),
  );
});
