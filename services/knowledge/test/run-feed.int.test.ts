import type { Principal } from '@platform/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnowledgeRouter } from '../src/router/index.js';
import { createCallerFactory } from '../src/trpc.js';
import { expectTrpcError } from './support/errors.js';
import { alice, log, startHarness, type Harness } from './support/harness.js';

// runs.onChange (issue 15, item 2) through the router on the real Neo4j: the run's history after
// lastEventId, then each change as it is recorded, ids = seq, no gap and no duplicate across a
// reconnect; whoever may replay the run may follow it, anyone else gets NOT_FOUND as from replay.
// The SSE transport is the kit's subscriptions test and tests/system/live-updates.e2e.test.ts.
let h: Harness;
const bob: Principal = { kind: 'user', id: 'bob', roles: [] };
const service: Principal = { kind: 'service', id: 'operations', roles: ['service'] };

beforeAll(async () => {
  h = await startHarness('kb-feed');
});
afterAll(async () => h?.cleanup());

type Change = { seq: number; kind: string; name: string; status: string; output: unknown };

/**
 * A subscription read event by event (the server-side caller yields tracked tuples [id, data]).
 * Closing aborts its signal, as the HTTP adapter does when the client goes.
 */
async function open(principal: Principal, input: { runId: string; lastEventId?: string }) {
  const ac = new AbortController();
  const caller = createCallerFactory(createKnowledgeRouter(h.deps))({ principal, authError: null, log }, { signal: ac.signal });
  const iterator = (await caller.runs.onChange(input))[Symbol.asyncIterator]();
  return {
    async next(timeoutMs = 5_000): Promise<{ id: string; data: Change }> {
      const r = await Promise.race([iterator.next(), new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), timeoutMs))]);
      if (r === 'timeout') throw new Error('no event within the timeout');
      if (r.done) throw new Error('the stream ended');
      const [id, data] = r.value as unknown as [string, Change];
      return { id, data };
    },
    async take(n: number) {
      const out: Array<{ id: string; data: Change }> = [];
      for (let i = 0; i < n; i++) out.push(await this.next());
      return out;
    },
    /** True when nothing more comes within `ms`. */
    async quiet(ms = 700) {
      return this.next(ms).then(
        () => false,
        (err: Error) => err.message === 'no event within the timeout',
      );
    },
    close: async () => {
      ac.abort();
      await iterator.return?.();
    },
  };
}

describe('runs.onChange', () => {
  it('sends the history, then each change live, ids = seq; a reconnect after any id resumes with no gap and no duplicate', async () => {
    const api = h.caller(alice);
    const { run, root } = await api.runs.create({ name: 'feed', sessionId: h.tag, root: { name: 'root' } });
    const step = crypto.randomUUID();
    await api.runs.addSteps({ runId: run.id, steps: [{ id: step, parentId: root.id, name: 'fetch' }] });
    const first = await open(alice, { runId: run.id });
    const backlog = await first.take(2);
    expect(backlog.map((e) => [e.id, e.data.kind, e.data.name])).toEqual([
      ['1', 'added', 'root'],
      ['2', 'added', 'fetch'],
    ]);
    const started = performance.now();
    await api.runs.updateStep({ stepId: step, status: 'running' });
    const live = await first.next();
    const latencyMs = performance.now() - started;
    expect([live.id, live.data.kind, live.data.status]).toEqual(['3', 'status', 'running']);
    expect(latencyMs).toBeLessThan(1_000);
    await first.close();

    // While nobody listens: two more changes. Resuming after 3 gives 4 and 5, then live 6.
    await api.runs.updateStep({ stepId: step, output: { rows: 7 } });
    await api.runs.updateStep({ stepId: step, status: 'succeeded' });
    const again = await open(alice, { runId: run.id, lastEventId: live.id });
    const resumed = await again.take(2);
    await api.runs.updateStep({ stepId: root.id, status: 'succeeded' });
    resumed.push(await again.next());
    expect(resumed.map((e) => [e.id, e.data.kind, e.data.status])).toEqual([
      ['4', 'output', 'running'],
      ['5', 'status', 'succeeded'],
      ['6', 'status', 'succeeded'],
    ]);
    expect(resumed[0]!.data.output).toEqual({ rows: 7 });
    expect(await again.quiet()).toBe(true);
    await again.close();
    // The same history as runs.replay, in the same order.
    const replay = await api.runs.replay({ runId: run.id });
    expect([...backlog, live, ...resumed].map((e) => e.data.seq)).toEqual(replay.changes.map((c) => c.seq));
  });

  it('a batch of steps added at once arrives as its changes, in seq order, to every subscriber', async () => {
    const api = h.caller(alice);
    const { run, root } = await api.runs.create({ name: 'feed-batch', sessionId: h.tag, root: { name: 'root' } });
    const a = await open(alice, { runId: run.id });
    const b = await open(service, { runId: run.id, lastEventId: '1' });
    expect((await a.next()).id).toBe('1');
    await api.runs.addSteps({ runId: run.id, steps: Array.from({ length: 5 }, (_, i) => ({ parentId: root.id, name: `s${i}` })) });
    const ids = ['2', '3', '4', '5', '6'];
    expect((await a.take(5)).map((e) => e.id)).toEqual(ids);
    expect((await b.take(5)).map((e) => e.id)).toEqual(ids);
    await a.close();
    await b.close();
  });

  it('refuses whoever runs.replay refuses, with the same code', async () => {
    const { run } = await h.caller(alice).runs.create({ name: 'feed-private', sessionId: h.tag, root: { name: 'root' } });
    await expectTrpcError(h.caller(bob).runs.replay({ runId: run.id }), 'NOT_FOUND');
    await expectTrpcError(h.caller(bob).runs.onChange({ runId: run.id }), 'NOT_FOUND');
    await expectTrpcError(h.caller(alice).runs.onChange({ runId: crypto.randomUUID() }), 'NOT_FOUND');
  });
});
