import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTrpcError } from './support/errors.js';
import { startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

let h: Harness;
let api: KnowledgeCaller;

beforeAll(async () => {
  h = await startHarness('kb-wf');
  api = h.caller();
});
afterAll(async () => h?.cleanup());

/**
 * root
 * ├── plan
 * │   ├── research
 * │   └── outline
 * │       └── draft
 * └── review
 */
async function buildRun(name: string) {
  const { run, root } = await api.runs.create({ name, sessionId: h.tag, root: { name: 'root', input: { goal: 'ship' } } });
  const [plan, research, outline, draft, review] = Array.from({ length: 5 }, () => crypto.randomUUID()) as [
    string,
    string,
    string,
    string,
    string,
  ];
  // Deliberately children before parents: the batch is ordered by the service.
  const { steps } = await api.runs.addSteps({
    runId: run.id,
    steps: [
      { id: draft, parentId: outline, name: 'draft' },
      { id: plan, parentId: root.id, name: 'plan' },
      { id: research, parentId: plan, name: 'research' },
      { id: outline, parentId: plan, name: 'outline' },
      { id: review, parentId: root.id, name: 'review' },
    ],
  });
  return { run, root, steps, ids: { root: root.id, plan, research, outline, draft, review } };
}

describe('runs as trees', () => {
  it('creates a run with its root and adds a batch of steps parents-first', async () => {
    const { run, root, steps, ids } = await buildRun('tree');
    expect(run).toMatchObject({ name: 'tree', sessionId: h.tag, rootStepId: root.id, seq: 1 });
    expect(root).toMatchObject({ parentId: null, status: 'pending', input: { goal: 'ship' }, output: null, addedSeq: 1 });
    expect(steps.map((s) => s.name).sort()).toEqual(['draft', 'outline', 'plan', 'research', 'review']);
    const byName = Object.fromEntries(steps.map((s) => [s.name, s]));
    expect(byName['plan']!.addedSeq).toBeLessThan(byName['outline']!.addedSeq);
    expect(byName['outline']!.addedSeq).toBeLessThan(byName['draft']!.addedSeq);

    const tree = await api.runs.tree({ runId: run.id });
    expect(tree.run.seq).toBe(6);
    expect(tree.steps.map((s) => [s.name, s.depth])).toEqual([
      ['root', 0],
      ['plan', 1],
      ['outline', 2],
      ['draft', 3],
      ['research', 2],
      ['review', 1],
    ]);
    expect(tree.steps.find((s) => s.name === 'draft')?.parentId).toBe(ids.outline);
  });

  it('walks to the root, the subtree, ancestors and descendants with depths', async () => {
    const { ids } = await buildRun('walks');
    const path = await api.runs.pathToRoot({ stepId: ids.draft });
    expect(path.steps.map((s) => s.name)).toEqual(['draft', 'outline', 'plan', 'root']);
    const sub = await api.runs.subtree({ stepId: ids.plan });
    expect(sub.steps.map((s) => [s.name, s.depth])).toEqual([
      ['plan', 0],
      ['outline', 1],
      ['draft', 2],
      ['research', 1],
    ]);
    const anc = await api.runs.ancestors({ stepId: ids.draft, maxDepth: 2 });
    expect(anc.ancestors.map((a) => [a.step.name, a.depth])).toEqual([
      ['outline', 1],
      ['plan', 2],
    ]);
    const desc = await api.runs.descendants({ stepId: ids.root });
    expect(desc.descendants.map((d) => [d.step.name, d.depth]).sort()).toEqual([
      ['draft', 3],
      ['outline', 2],
      ['plan', 1],
      ['research', 2],
      ['review', 1],
    ]);
    const leaf = await api.runs.descendants({ stepId: ids.draft });
    expect(leaf.descendants).toEqual([]);
    await expectTrpcError(api.runs.pathToRoot({ stepId: crypto.randomUUID() }), 'NOT_FOUND');
  });

  it('refuses cycles: in a batch, onto itself, and a move under its own descendant', async () => {
    const { run, ids } = await buildRun('cycles');
    const [x, y] = [crypto.randomUUID(), crypto.randomUUID()];
    const loop = await expectTrpcError(
      api.runs.addSteps({
        runId: run.id,
        steps: [
          { id: x, parentId: y, name: 'x' },
          { id: y, parentId: x, name: 'y' },
        ],
      }),
      'BAD_REQUEST',
    );
    expect(loop.message).toMatch(/cycle/);
    await expectTrpcError(api.runs.addSteps({ runId: run.id, steps: [{ id: x, parentId: x, name: 'self' }] }), 'BAD_REQUEST');
    const move = await expectTrpcError(api.runs.moveStep({ stepId: ids.plan, parentId: ids.draft }), 'BAD_REQUEST');
    expect(move.message).toMatch(/cycle/);
    await expectTrpcError(api.runs.moveStep({ stepId: ids.plan, parentId: ids.plan }), 'BAD_REQUEST');
    // Nothing was written by the refused calls.
    const tree = await api.runs.tree({ runId: run.id });
    expect(tree.steps).toHaveLength(6);
    expect(tree.run.seq).toBe(6);
    expect(tree.steps.find((s) => s.id === ids.plan)?.parentId).toBe(ids.root);
  });

  it('moves a step (with its subtree) under another parent of the same run', async () => {
    const { ids } = await buildRun('move');
    const moved = await api.runs.moveStep({ stepId: ids.outline, parentId: ids.review });
    expect(moved.parentId).toBe(ids.review);
    expect((await api.runs.pathToRoot({ stepId: ids.draft })).steps.map((s) => s.name)).toEqual(['draft', 'outline', 'review', 'root']);
  });

  it('refuses parents that are missing or belong to another run, and a reused step id', async () => {
    const a = await buildRun('run-a');
    const b = await buildRun('run-b');
    await expectTrpcError(api.runs.addSteps({ runId: a.run.id, steps: [{ parentId: crypto.randomUUID(), name: 'orphan' }] }), 'NOT_FOUND');
    await expectTrpcError(api.runs.addSteps({ runId: a.run.id, steps: [{ parentId: b.ids.plan, name: 'stray' }] }), 'BAD_REQUEST');
    await expectTrpcError(api.runs.moveStep({ stepId: a.ids.plan, parentId: b.ids.plan }), 'BAD_REQUEST');
    await expectTrpcError(
      api.runs.addSteps({ runId: a.run.id, steps: [{ id: a.ids.draft, parentId: a.ids.root, name: 'dup' }] }),
      'CONFLICT',
    );
    await expectTrpcError(api.runs.addSteps({ runId: crypto.randomUUID(), steps: [{ parentId: a.ids.root, name: 'x' }] }), 'NOT_FOUND');
  });
});

describe('step status and replay', () => {
  it('updates status and output, refuses a transition out of a final status', async () => {
    const { ids } = await buildRun('status');
    const running = await api.runs.updateStep({ stepId: ids.research, status: 'running' });
    expect(running.status).toBe('running');
    const done = await api.runs.updateStep({ stepId: ids.research, status: 'succeeded', output: { sources: 3 } });
    expect(done).toMatchObject({ status: 'succeeded', output: { sources: 3 } });
    const err = await expectTrpcError(api.runs.updateStep({ stepId: ids.research, status: 'running' }), 'CONFLICT');
    expect(err.message).toMatch(/succeeded to running/);
    await expectTrpcError(api.runs.updateStep({ stepId: ids.research }), 'BAD_REQUEST');
    await expectTrpcError(api.runs.updateStep({ stepId: crypto.randomUUID(), status: 'running' }), 'NOT_FOUND');
  });

  it('replays the ordered history and rebuilds the run as it was at any seq or instant', async () => {
    const { run, ids } = await buildRun('replay');
    await api.runs.updateStep({ stepId: ids.plan, status: 'running' }); // seq 7
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await api.runs.updateStep({ stepId: ids.plan, status: 'succeeded', output: { ok: true } }); // seq 8
    await api.runs.moveStep({ stepId: ids.review, parentId: ids.plan }); // seq 9

    const full = await api.runs.replay({ runId: run.id });
    expect(full.changes.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(full.changes.slice(6).map((c) => [c.kind, c.status, c.previousStatus])).toEqual([
      ['status', 'running', 'pending'],
      ['status', 'succeeded', 'running'],
      ['moved', 'pending', 'pending'],
    ]);
    // The replayed final state equals the live tree.
    const live = await api.runs.tree({ runId: run.id });
    expect(full.steps.map((s) => [s.id, s.parentId, s.status, s.depth])).toEqual(
      live.steps.map((s) => [s.id, s.parentId, s.status, s.depth]),
    );

    const atSeq1 = await api.runs.replay({ runId: run.id, untilSeq: 1 });
    expect(atSeq1.steps.map((s) => s.name)).toEqual(['root']);
    const atSeq7 = await api.runs.replay({ runId: run.id, untilSeq: 7 });
    expect(atSeq7.steps.find((s) => s.id === ids.plan)).toMatchObject({ status: 'running', output: null });
    expect(atSeq7.steps.find((s) => s.id === ids.review)?.parentId).toBe(ids.root);
    const atTime = await api.runs.replay({ runId: run.id, at: between });
    expect(atTime.changes.at(-1)?.seq).toBe(7);
    expect(atTime.steps.find((s) => s.id === ids.plan)?.status).toBe('running');
  });
});
