import type { Principal } from '@platform/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, rejection, service, startTestCoordination, user, type TestCoordination } from './support/coordination.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

// Live updates (issue 15, item 2) through the router against a private nats-server: jobs.onStatus
// and agents.onChange yield tracked events whose ids resume a stream with no gap and no duplicate;
// who may follow is who may read (jobs.get, agents.list). The HTTP/SSE side is the kit's
// subscriptions test and tests/system/live-updates.e2e.test.ts.
let nats: PrivateNats;
let coord: TestCoordination;
let team: string;
const as = (p: Principal | null) => coord.as(p);
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');

interface Tracked<T> {
  id: string;
  data: T;
}

/** Reads `n` events from a subscription (or until it ends), then stops it. */
async function take<T>(stream: Promise<AsyncIterable<unknown>>, n: number, timeoutMs = 10_000): Promise<Array<Tracked<T>>> {
  const out: Array<Tracked<T>> = [];
  const iterator = (await stream)[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  try {
    while (out.length < n) {
      const left = deadline - Date.now();
      const next = await Promise.race([iterator.next(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), Math.max(0, left)))]);
      if (next === 'timeout') throw new Error(`timed out after ${out.length} of ${n} events: ${JSON.stringify(out)}`);
      if (next.done) break;
      // tracked(id, data) is [id, data, symbol] on the server side.
      const [id, data] = next.value as [string, T];
      out.push({ id, data });
    }
  } finally {
    await iterator.return?.();
  }
  return out;
}

/** True when the subscription ends by itself (after its final event). */
async function ends(stream: Promise<AsyncIterable<unknown>>): Promise<boolean> {
  const iterator = (await stream)[Symbol.asyncIterator]();
  const r = await Promise.race([iterator.next(), new Promise<'open'>((res) => setTimeout(() => res('open'), 1_500))]);
  if (r === 'open') {
    await iterator.return?.();
    return false;
  }
  return r.done === true;
}

beforeAll(async () => {
  nats = await startPrivateNats(4586);
  coord = await startTestCoordination(nats, { HEARTBEAT_INTERVAL_MS: 10_000, AGENT_OFFLINE_AFTER_MS: 60_000 });
  team = coord.ops.team({ alice: 'owner', carol: 'member' });
});

afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

type JobEvent = { jobId: string; seq: number; status: string; agent: string | null; result?: unknown };
type RegistryEvent = { revision: number; name: string; agent: { name: string; status: string; stuckCount: number } | null };

describe('jobs.onStatus', () => {
  it('sends every transition in order, each with its history position as id, and ends after a final status; resumes after any id', async () => {
    await as(agent('worker')).agents.register({ name: 'worker', version: '1', capabilities: ['proposal'] });
    const { jobId } = await as(alice).jobs.trigger({ jobType: 'proposal', params: { topic: 'live' }, teamId: team });
    const live = take<JobEvent>(as(alice).jobs.onStatus({ jobId }), 10);
    const { job } = await as(agent('worker')).jobs.claim({ capabilities: ['proposal'], waitMs: 3_000 });
    expect(job?.jobId).toBe(jobId);
    await as(agent('worker')).jobs.complete({ jobId, result: { answer: 42 } });
    const events = await live;
    expect(events.map((e) => [e.id, e.data.seq, e.data.status, e.data.agent])).toEqual([
      ['1', 1, 'queued', null],
      ['2', 2, 'running', 'worker'],
      ['3', 3, 'succeeded', 'worker'],
    ]);
    expect(events[2]!.data.result).toEqual({ answer: 42 });
    // A client that saw up to 1 gets 2 and 3, one that saw everything gets nothing; both end.
    expect((await take<JobEvent>(as(alice).jobs.onStatus({ jobId, lastEventId: '1' }), 10)).map((e) => e.id)).toEqual(['2', '3']);
    expect(await ends(as(alice).jobs.onStatus({ jobId, lastEventId: '3' }))).toBe(true);
    // A team member may read the job, so may follow it.
    expect((await take<JobEvent>(as(carol).jobs.onStatus({ jobId }), 10)).map((e) => e.data.status)).toEqual([
      'queued',
      'running',
      'succeeded',
    ]);
  });

  it('refuses whoever jobs.get refuses, with the same code: another user, an agent not holding it, a job that does not exist', async () => {
    const { jobId } = await as(alice).jobs.trigger({ jobType: 'proposal', params: { topic: 'private' } });
    for (const who of [bob, carol, agent('bystander')]) {
      expect((await rejection(as(who).jobs.get({ jobId }))).code).toBe('NOT_FOUND');
      expect((await rejection(as(who).jobs.onStatus({ jobId }))).code).toBe('NOT_FOUND');
    }
    expect((await rejection(as(alice).jobs.onStatus({ jobId: crypto.randomUUID() }))).code).toBe('NOT_FOUND');
    expect((await rejection(as(null).jobs.onStatus({ jobId }))).code).toBe('UNAUTHORIZED');
    expect((await take<JobEvent>(as(service()).jobs.onStatus({ jobId }), 1)).map((e) => e.data.status)).toEqual(['queued']);
    await as(alice).jobs.cancel({ jobId });
  });

  it('an agent follows a job while it holds it: its stream ends when the job leaves it, as jobs.get stops answering', async () => {
    await as(agent('holder')).agents.register({ name: 'holder', version: '1', capabilities: ['build'] });
    const { jobId } = await as(alice).jobs.trigger({ jobType: 'build', params: {} });
    const { job } = await as(agent('holder')).jobs.claim({ capabilities: ['build'], waitMs: 3_000 });
    expect(job?.jobId).toBe(jobId);
    const held = take<JobEvent>(as(agent('holder')).jobs.onStatus({ jobId }), 10);
    await new Promise((r) => setTimeout(r, 300));
    await as(agent('holder')).jobs.complete({ jobId });
    expect((await held).map((e) => e.data.status)).toEqual(['queued', 'running']);
  });
});

describe('agents.onChange', () => {
  it('sends the registry, then each change with its revision as id; resumes after a revision with what changed since', async () => {
    const name = `live-${Date.now()}`;
    const stream = as(user('anyone')).agents.onChange({});
    const iterator = (await stream)[Symbol.asyncIterator]();
    const seen: Array<Tracked<RegistryEvent>> = [];
    const next = async () => {
      const r = await iterator.next();
      const [id, data] = r.value as unknown as [string, RegistryEvent]; // the server-side tuple (see take)
      seen.push({ id, data });
      return data;
    };
    // The registry as it is: every agent registered so far, in revision order.
    const existing = (await as(service()).agents.list({ limit: 500 })).agents.length;
    for (let i = 0; i < existing; i++) await next();
    await as(agent(name)).agents.register({ name, version: '1', capabilities: ['build'] });
    expect(await next()).toMatchObject({ name, agent: { name, status: 'online', stuckCount: 0 } });
    await as(agent(name)).agents.reportStuck({ name, reason: 'wedged' });
    expect(await next()).toMatchObject({ name, agent: { stuckCount: 1 } });
    await iterator.return?.();
    const ids = seen.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(seen.every((e) => Number(e.id) === e.data.revision)).toBe(true);

    // Away after the registration: the stuck report (the agent's latest revision) and nothing before it.
    const registeredAt = seen.at(-2)!.id;
    const resumed = await take<RegistryEvent>(as(agent('someone')).agents.onChange({ lastEventId: registeredAt }), 1);
    expect(resumed.map((e) => [e.id, e.data.name, e.data.agent?.stuckCount])).toEqual([[seen.at(-1)!.id, name, 1]]);
    // Two changes while away come once, as the agent is now (the bucket keeps one revision per agent).
    await as(agent(name)).agents.reportStuck({ name, reason: 'again' });
    await as(agent(name)).agents.reportStuck({ name, reason: 'and again' });
    const collapsed = await take<RegistryEvent>(as(user('anyone')).agents.onChange({ lastEventId: seen.at(-1)!.id }), 1);
    expect(collapsed.map((e) => e.data.agent?.stuckCount)).toEqual([3]);
    expect(Number(collapsed[0]!.id)).toBeGreaterThan(Number(seen.at(-1)!.id));
    expect((await rejection(as(null).agents.onChange({}))).code).toBe('UNAUTHORIZED');
  });
});
