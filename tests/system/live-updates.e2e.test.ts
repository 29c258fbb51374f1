import type { Principal } from '@platform/contracts';
import type { CoordinationRouter } from '@platform/coordination/router';
import type { KnowledgeRouter } from '@platform/knowledge/router';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, type TRPCClientErrorLike } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordedIds } from '../../services/knowledge/src/domain/recorded-runs.js';
import type { ServiceName } from '@platform/testkit';
import { clientsFor, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';

// Live updates (issue 15, item 2) against the three services as processes on the real stores, with
// tRPC's own client (splitLink: subscriptions over httpSubscriptionLink, i.e. server-sent events).
// A saga started in operations is recorded by knowledge as a run and followed with runs.onChange; a
// job triggered in coordination and worked by an agent is followed with jobs.onStatus; the agent
// registry with agents.onChange. Each subscriber disconnects part-way, the work goes on without it,
// and it reconnects with the last event id it saw: what it received over both connections must be
// exactly the stream's events, each once, in order. Plus: no token is refused, and another user gets
// the answer the matching read gives (NOT_FOUND).
const ports: Record<ServiceName, number> = { knowledge: 4291, operations: 4292, coordination: 4293 };
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const alice: Principal = { kind: 'user', id: `live-alice-${run}`, roles: [] };
const bob: Principal = { kind: 'user', id: `live-bob-${run}`, roles: [] };
const agentName = `live-agent-${run}`;
let system: TestSystem | undefined;
const tokens = { alice: '', bob: '', agent: '' };

beforeAll(async () => {
  system = await startTestSystem({ ports, env: { LOG_LEVEL: 'warn' } });
  tokens.alice = await tokenFor(alice, 3_600);
  tokens.bob = await tokenFor(bob, 3_600);
  tokens.agent = await tokenFor({ kind: 'agent', id: agentName, roles: ['agent'] }, 3_600);
  // Users exist in operations once they have called it (sagas act for a known user).
  for (const t of [tokens.alice, tokens.bob]) await clientsFor(t, ports).operations.users.me.query({});
}, 180_000);

afterAll(async () => {
  await system?.stop();
});

/**
 * How a client reaches one service: queries and mutations over httpLink with the bearer header,
 * subscriptions over httpSubscriptionLink — with the header (the `eventsource` package can send
 * one) or with the token in connectionParams (what a browser's EventSource must do).
 */
function transport(service: ServiceName, token: string | null, via: 'header' | 'connectionParams') {
  const url = `http://127.0.0.1:${ports[service]}/trpc`;
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return {
    condition: (op: { type: string }) => op.type === 'subscription',
    subscriptions: {
      url,
      EventSource,
      ...(via === 'connectionParams' && token ? { connectionParams: { token } } : {}),
      eventSourceOptions: () => ({
        fetch: (input: string | URL, init: RequestInit) =>
          fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), ...(via === 'header' ? auth : {}) } }),
      }),
    },
    calls: { url, headers: auth },
  };
}

const knowledgeClient = (token: string | null, via: 'header' | 'connectionParams' = 'header') => {
  const t = transport('knowledge', token, via);
  return createTRPCClient<KnowledgeRouter>({
    links: [splitLink({ condition: t.condition, true: httpSubscriptionLink(t.subscriptions), false: httpLink(t.calls) })],
  });
};
const coordinationClient = (token: string | null, via: 'header' | 'connectionParams' = 'header') => {
  const t = transport('coordination', token, via);
  return createTRPCClient<CoordinationRouter>({
    links: [splitLink({ condition: t.condition, true: httpSubscriptionLink(t.subscriptions), false: httpLink(t.calls) })],
  });
};

interface Received<T> {
  events: Array<{ id: string; data: T }>;
  error: TRPCClientErrorLike<AnyRouter> | undefined;
  ended: boolean;
  stop(): void;
  /** Until `done` holds for what was received (or the stream fails or times out). */
  until(done: (events: Array<{ id: string; data: T }>) => boolean, what: string, timeoutMs?: number): Promise<void>;
}

type Subscribe<T> = (handlers: {
  onData: (e: { id: string; data: T }) => void;
  onError: (err: TRPCClientErrorLike<AnyRouter>) => void;
  onComplete: () => void;
}) => { unsubscribe(): void };

/** Collects one subscription's events. */
function collect<T>(subscribe: Subscribe<T>): Received<T> {
  const r: Received<T> = {
    events: [],
    error: undefined,
    ended: false,
    stop: () => sub.unsubscribe(),
    async until(done, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(r.events)) {
        if (r.error) throw new Error(`${what}: the subscription failed: ${r.error.message}`);
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(r.events.map((e) => [e.id, e.data]))}`);
        await new Promise((res) => setTimeout(res, 25));
      }
    },
  };
  const sub = subscribe({
    onData: (e) => r.events.push(e),
    onError: (err) => (r.error = err),
    onComplete: () => (r.ended = true),
  });
  return r;
}

/** Waits for a refusal of a subscription and returns its tRPC code. */
async function refusal<T>(r: Received<T>): Promise<string | undefined> {
  await r.until(() => r.error !== undefined, 'a refusal', 10_000).catch(() => undefined);
  r.stop();
  expect(r.events).toEqual([]);
  return r.error?.data?.code;
}

const ids = (events: Array<{ id: string }>) => events.map((e) => Number(e.id));

type RunChange = { runId: string; seq: number; stepId: string; kind: string; name: string; status: string };
type JobEvent = { jobId: string; seq: number; status: string; agent: string | null; result?: unknown };
type RegistryEvent = { revision: number; name: string; agent: { status: string; stuckCount: number } | null };

describe('live updates over server-sent events', () => {
  it("a saga's run: disconnect part-way, reconnect with the last id — every change exactly once, in order, as runs.replay records them", async () => {
    const knowledge = knowledgeClient(tokens.alice, 'connectionParams');
    const { operations } = clientsFor(tokens.alice, ports);
    const saga = await operations.sagas.start.mutate({
      sagaType: 'team_onboarding',
      payload: { teamName: `live-team-${run}` },
      idempotencyKey: `live-${run}`,
    });
    const runId = recordedIds.sagaRun(saga.id);
    // The run is recorded from the saga's events: wait until knowledge has it.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = await knowledge.runs.tree.query({ runId }).then(
        () => true,
        () => false,
      );
      if (found) break;
      if (Date.now() > deadline) throw new Error(`knowledge did not record saga ${saga.id} as run ${runId}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const first = collect<RunChange>((h) => knowledge.runs.onChange.subscribe({ runId }, h));
    await first.until((e) => e.length >= 2, 'the first two changes');
    first.stop();
    // The subscriber kept only the first two changes (more may already have arrived: the saga runs
    // fast), so it resumes after the second one and the rest of the run must come on reconnecting.
    const seenBefore = first.events.slice(0, 2);
    const lastSeen = seenBefore.at(-1)!.id;
    // The saga runs on while nobody listens; then the subscriber comes back after what it saw.
    const replayed = async () => (await knowledge.runs.replay.query({ runId })).changes;
    const finished = async () =>
      (await replayed()).some((c) => c.stepId === recordedIds.sagaRoot(saga.id) && (c.status === 'succeeded' || c.status === 'failed'));
    // After a long suite the saga runner and the recorder may still be working through earlier
    // files' sagas and events: allow a minute, and say so when it is the saga that did not finish.
    const finishBy = Date.now() + 60_000;
    while (!(await finished())) {
      if (Date.now() > finishBy)
        throw new Error(
          `saga ${saga.id} was not recorded as finished within 60 s: ${JSON.stringify((await replayed()).map((c) => [c.seq, c.name, c.status]))}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    const history = await replayed();
    expect(history.at(-1)!.seq).toBeGreaterThan(Number(lastSeen));
    const second = collect<RunChange>((h) => knowledge.runs.onChange.subscribe({ runId, lastEventId: lastSeen }, h));
    await second.until((e) => e.length > 0 && Number(e.at(-1)!.id) >= history.at(-1)!.seq, 'the rest of the history');
    await new Promise((r) => setTimeout(r, 600)); // nothing more may come
    second.stop();

    const received = [...seenBefore, ...second.events];
    console.log(
      `run ${runId}: ${seenBefore.length} change(s) before the disconnect, ${second.events.length} after; seqs ${ids(received).join(',')}`,
    );
    expect(ids(received)).toEqual(history.map((c) => c.seq));
    expect(ids(received)).toEqual(Array.from({ length: history.length }, (_, i) => i + 1));
    expect(received.map((e) => [e.data.seq, e.data.stepId, e.data.kind, e.data.status])).toEqual(
      history.map((c) => [c.seq, c.stepId, c.kind, c.status]),
    );
    expect(received.every((e) => e.id === String(e.data.seq) && e.data.runId === runId)).toBe(true);
    expect(history.at(-1)).toMatchObject({ stepId: recordedIds.sagaRoot(saga.id), status: 'succeeded' });

    // Another user: the read says NOT_FOUND, so does the subscription; no token: UNAUTHORIZED.
    await expect(knowledgeClient(tokens.bob).runs.replay.query({ runId })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    expect(
      await refusal(collect<RunChange>((h) => knowledgeClient(tokens.bob, 'connectionParams').runs.onChange.subscribe({ runId }, h))),
    ).toBe('NOT_FOUND');
    expect(await refusal(collect<RunChange>((h) => knowledgeClient(null).runs.onChange.subscribe({ runId }, h)))).toBe('UNAUTHORIZED');
  });

  it("a job's status and the agent registry: disconnect part-way, reconnect with the last id — the exact sequence, no gap, no duplicate", async () => {
    const coordination = coordinationClient(tokens.alice);
    const asAgent = coordinationClient(tokens.agent);

    // The registry as it is now, up to its latest revision: the baseline the test's changes follow.
    const snapshot = collect<RegistryEvent>((h) => coordination.agents.onChange.subscribe({}, h));
    const existing = (await clientsFor(tokens.alice, ports).coordination.agents.list.query({ limit: 500 })).agents.length;
    await snapshot.until((e) => e.length >= existing, `the ${existing} registered agents`);
    await new Promise((r) => setTimeout(r, 500));
    snapshot.stop();
    const baseline = snapshot.events.at(-1)?.id ?? '0';
    const registry = collect<RegistryEvent>((h) => coordination.agents.onChange.subscribe({ lastEventId: baseline }, h));

    await asAgent.agents.register.mutate({ name: agentName, version: '1.0.0', capabilities: ['proposal'] });
    const { jobId } = await coordination.jobs.trigger.mutate({
      jobType: 'proposal',
      params: { topic: `live ${run}` },
      priority: 'high',
      idempotencyKey: `live-job-${run}`,
    });
    const job = collect<JobEvent>((h) => coordination.jobs.onStatus.subscribe({ jobId }, h));
    await job.until((e) => e.length >= 1, 'queued');
    await registry.until((e) => e.some((x) => x.data.name === agentName), 'the registration');
    // Both subscribers go away; the agent works the job and is reported stuck meanwhile.
    job.stop();
    registry.stop();
    const lastJobId = job.events.at(-1)!.id;
    const lastRegistryId = registry.events.at(-1)!.id;
    for (let claims = 0; ; claims++) {
      const { job: claimed } = await asAgent.jobs.claim.mutate({ capabilities: ['proposal'], waitMs: 5_000 });
      if (!claimed || claims > 50) throw new Error(`the agent did not get job ${jobId}`);
      // Leftovers of earlier runs on a long-lived NATS: finish them and claim again.
      await asAgent.jobs.complete.mutate({ jobId: claimed.jobId, result: claimed.jobId === jobId ? { answer: run } : { drained: true } });
      if (claimed.jobId === jobId) break;
    }
    await asAgent.agents.reportStuck.mutate({ name: agentName, reason: 'live updates test' });

    const jobAgain = collect<JobEvent>((h) => coordination.jobs.onStatus.subscribe({ jobId, lastEventId: lastJobId }, h));
    await jobAgain.until(() => jobAgain.ended, 'the job stream to end after its final status');
    const registryAgain = collect<RegistryEvent>((h) => coordination.agents.onChange.subscribe({ lastEventId: lastRegistryId }, h));
    await registryAgain.until((e) => e.some((x) => x.data.name === agentName && x.data.agent?.stuckCount === 1), 'the stuck report');
    await new Promise((r) => setTimeout(r, 500));
    registryAgain.stop();

    const jobEvents = [...job.events, ...jobAgain.events];
    console.log(
      `job ${jobId}: ${job.events.length} before the disconnect, ${jobAgain.events.length} after: ${jobEvents.map((e) => `${e.id}:${e.data.status}`).join(' ')}`,
    );
    expect(jobEvents.map((e) => [e.id, e.data.seq, e.data.status, e.data.agent])).toEqual([
      ['1', 1, 'queued', null],
      ['2', 2, 'running', agentName],
      ['3', 3, 'succeeded', agentName],
    ]);
    expect(jobEvents.at(-1)!.data.result).toEqual({ answer: run });
    const history = (await coordination.jobs.get.query({ jobId })).history;
    expect(jobEvents.map((e) => e.data.status)).toEqual(history.map((t) => t.status));

    // The registry stream as a whole: revisions strictly increasing across both connections, none twice.
    const registryEvents = [...registry.events, ...registryAgain.events];
    const revisions = ids(registryEvents);
    expect(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!)).toBe(true);
    expect(revisions[0]!).toBeGreaterThan(Number(baseline));
    expect(registryEvents.every((e) => e.id === String(e.data.revision))).toBe(true);
    // This agent's part of it, exactly: registered (online), then the stuck report made while away.
    const mine = registryEvents.filter((e) => e.data.name === agentName).map((e) => [e.data.agent?.status, e.data.agent?.stuckCount]);
    console.log(
      `registry: ${registry.events.length} change(s) before the disconnect, ${registryAgain.events.length} after; this agent's: ${JSON.stringify(mine)}`,
    );
    expect(mine).toEqual([
      ['online', 0],
      ['online', 1],
    ]);

    // Another user reads the job as NOT_FOUND, and cannot follow it either; no token: UNAUTHORIZED.
    const other = coordinationClient(tokens.bob);
    await expect(other.jobs.get.query({ jobId })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    expect(await refusal(collect<JobEvent>((h) => other.jobs.onStatus.subscribe({ jobId }, h)))).toBe('NOT_FOUND');
    expect(await refusal(collect<JobEvent>((h) => coordinationClient(null).jobs.onStatus.subscribe({ jobId }, h)))).toBe('UNAUTHORIZED');
    expect(await refusal(collect<RegistryEvent>((h) => coordinationClient(null).agents.onChange.subscribe({}, h)))).toBe('UNAUTHORIZED');
  });
});
