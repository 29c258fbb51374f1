import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTrpcError, zodPaths } from './support/errors.js';
import { startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

/*
 * Rule: every tree read answers at most `limit` steps (replay: changes), default 1,000, max 5,000.
 * A tree larger than the limit answers exactly the first `limit` in the read's own order with
 * `truncated: true`; one that fits answers all of it with `truncated: false`; a limit above the
 * max (or below 1) is BAD_REQUEST.
 */

let h: Harness;
let api: KnowledgeCaller;

beforeAll(async () => {
  h = await startHarness('kb-wfcap');
  api = h.caller();
});
afterAll(async () => h?.cleanup());

const PREORDER = ['root', 'a', 'a1', 'a2', 'a2x', 'a2y', 'a3', 'b', 'b1', 'c', 'c1', 'c2'];

/**
 * root ─ a ─ a1        Added in four batches so that the order steps were added in
 *      │   ├ a2 ─ a2x  (root a b c c1 c2 b1 a1 a2 a3 a2x a2y) is not the tree order
 *      │   │    └ a2y  (PREORDER): a cut by addedSeq would answer other steps.
 *      │   └ a3
 *      ├ b ─ b1
 *      └ c ─ c1
 *          └ c2
 */
async function buildRun() {
  const { run, root } = await api.runs.create({ name: 'caps', sessionId: h.tag, root: { name: 'root' } });
  const id: Record<string, string> = { root: root.id };
  for (const n of PREORDER.slice(1)) id[n] = crypto.randomUUID();
  const add = (names: string[], parent: (n: string) => string) =>
    api.runs.addSteps({ runId: run.id, steps: names.map((n) => ({ id: id[n]!, parentId: id[parent(n)]!, name: n })) });
  await add(['a', 'b', 'c'], () => 'root');
  await add(['c1', 'c2', 'b1'], (n) => n[0]!);
  await add(['a1', 'a2', 'a3'], () => 'a');
  await add(['a2x', 'a2y'], () => 'a2');
  return { run, id };
}

describe('tree reads are capped', () => {
  let built: Awaited<ReturnType<typeof buildRun>>;
  beforeAll(async () => {
    built = await buildRun();
  });

  it('tree: a larger tree answers exactly `limit` steps, the first in tree order, truncated', async () => {
    const { run } = built;
    const cut = await api.runs.tree({ runId: run.id, limit: 6 });
    expect(cut.truncated).toBe(true);
    expect(cut.steps.map((s) => s.name)).toEqual(PREORDER.slice(0, 6));
    expect(cut.steps.map((s) => s.depth)).toEqual([0, 1, 2, 2, 3, 3]);
    // One short of the whole tree is still cut; exactly the whole tree is not.
    const oneShort = await api.runs.tree({ runId: run.id, limit: PREORDER.length - 1 });
    expect([oneShort.steps.length, oneShort.truncated]).toEqual([PREORDER.length - 1, true]);
    const whole = await api.runs.tree({ runId: run.id, limit: PREORDER.length });
    expect(whole.truncated).toBe(false);
    expect(whole.steps.map((s) => s.name)).toEqual(PREORDER);
    const byDefault = await api.runs.tree({ runId: run.id });
    expect([byDefault.steps.map((s) => s.name), byDefault.truncated]).toEqual([PREORDER, false]);
  });

  it('subtree: the first `limit` steps below the step in tree order, truncated when there are more', async () => {
    const { id } = built;
    const cut = await api.runs.subtree({ stepId: id['a']!, limit: 4 });
    expect(cut.truncated).toBe(true);
    expect(cut.steps.map((s) => [s.name, s.depth])).toEqual([
      ['a', 0],
      ['a1', 1],
      ['a2', 1],
      ['a2x', 2],
    ]);
    const whole = await api.runs.subtree({ stepId: id['a']!, limit: 6 });
    expect([whole.steps.map((s) => s.name), whole.truncated]).toEqual([['a', 'a1', 'a2', 'a2x', 'a2y', 'a3'], false]);
  });

  it('descendants and ancestors: nearest first, at most `limit`, truncated when there are more', async () => {
    const { id } = built;
    const desc = await api.runs.descendants({ stepId: id['root']!, limit: 5 });
    expect(desc.truncated).toBe(true);
    // Depth first, then the order they were added: c1 and c2 were added before a1.
    expect(desc.descendants.map((d) => [d.step.name, d.depth])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
      ['c1', 2],
      ['c2', 2],
    ]);
    const all = await api.runs.descendants({ stepId: id['root']!, limit: PREORDER.length - 1 });
    expect([all.descendants.length, all.truncated]).toEqual([PREORDER.length - 1, false]);
    const shallow = await api.runs.descendants({ stepId: id['root']!, maxDepth: 1, limit: 3 });
    expect([shallow.descendants.map((d) => d.step.name), shallow.truncated]).toEqual([['a', 'b', 'c'], false]);
    const anc = await api.runs.ancestors({ stepId: id['a2x']!, limit: 2 });
    expect([anc.ancestors.map((a) => a.step.name), anc.truncated]).toEqual([['a2', 'a'], true]);
    const path = await api.runs.ancestors({ stepId: id['a2x']! });
    expect([path.ancestors.map((a) => a.step.name), path.truncated]).toEqual([['a2', 'a', 'root'], false]);
  });

  it('replay: the first `limit` changes in seq order and the run as it was after the last of them', async () => {
    const { run } = built;
    const cut = await api.runs.replay({ runId: run.id, limit: 5 });
    expect(cut.truncated).toBe(true);
    expect(cut.changes.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5]);
    // seq 1..5 added root, a, b, c, c1.
    expect(cut.steps.map((s) => s.name)).toEqual(['root', 'a', 'b', 'c', 'c1']);
    const upTo = await api.runs.replay({ runId: run.id, untilSeq: 5, limit: 5 });
    expect([upTo.changes.length, upTo.truncated]).toEqual([5, false]);
    const whole = await api.runs.replay({ runId: run.id });
    expect([whole.changes.length, whole.truncated]).toEqual([PREORDER.length, false]);
    expect(whole.steps.map((s) => s.name)).toEqual(PREORDER);
  });

  it('a limit above the max (5,000) or below 1 is BAD_REQUEST', async () => {
    const { run, id } = built;
    const calls: Array<Promise<unknown>> = [
      api.runs.tree({ runId: run.id, limit: 5_001 }),
      api.runs.subtree({ stepId: id['a']!, limit: 5_001 }),
      api.runs.descendants({ stepId: id['a']!, limit: 5_001 }),
      api.runs.ancestors({ stepId: id['a']!, limit: 5_001 }),
      api.runs.replay({ runId: run.id, limit: 5_001 }),
      api.runs.tree({ runId: run.id, limit: 0 }),
    ];
    for (const call of calls) expect(zodPaths(await expectTrpcError(call, 'BAD_REQUEST'))).toEqual(['limit']);
    expect((await api.runs.tree({ runId: run.id, limit: 5_000 })).truncated).toBe(false);
  });
});

describe('the default cap', () => {
  it('a run of 1,002 steps answers 1,000 steps (and replay 1,000 changes) by default, truncated', async () => {
    const { run, root } = await api.runs.create({ name: 'wide', sessionId: h.tag, root: { name: 'root' } });
    for (let batch = 0; batch < 3; batch++) {
      const size = batch < 2 ? 500 : 1;
      await api.runs.addSteps({
        runId: run.id,
        steps: Array.from({ length: size }, (_, i) => ({ parentId: root.id, name: `s${batch * 500 + i}` })),
      });
    }
    const tree = await api.runs.tree({ runId: run.id });
    expect([tree.steps.length, tree.truncated]).toEqual([1_000, true]);
    expect(tree.steps.map((s) => s.name)).toEqual(['root', ...Array.from({ length: 999 }, (_, i) => `s${i}`)]);
    const replay = await api.runs.replay({ runId: run.id });
    expect([replay.changes.length, replay.truncated, replay.changes.at(-1)!.seq, replay.steps.length]).toEqual([1_000, true, 1_000, 1_000]);
    const all = await api.runs.tree({ runId: run.id, limit: 1_002 });
    expect([all.steps.length, all.truncated]).toEqual([1_002, false]);
  });
});
