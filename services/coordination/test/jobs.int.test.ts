import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sweepOutbox } from '../src/events/outbox.js';
import { jobEvent } from '../src/events/job-events.js';
import { transition } from '../src/domain/job-transitions.js';
import { sweepLeases } from '../src/domain/liveness.js';
import { agent, service, startTestCoordination, user, type TestCoordination, rejection } from './support/coordination.js';
import { readEvents, waitFor } from './support/events.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';
import { JOBS_DEADLETTER_STREAM, JOBS_STREAM } from '@platform/contracts';

// Jobs through the router (createCaller) against a private nats-server: validation, idempotency,
// priorities, the lifecycle with its events, retries and dead letters, cancel, release, list.
let nats: PrivateNats;
let coord: TestCoordination;
const alice = () => coord.as(user('alice'));
const worker = (name: string) => coord.as(agent(name));

/** Outbox sends run in the background: wait for them before looking at the streams. */
const settled = () => coord.deps.background.idle();

async function queuedItems(): Promise<number> {
  await settled();
  const jsm = await coord.nc.jetstreamManager();
  return (await jsm.streams.info(JOBS_STREAM)).state.messages;
}

async function register(name: string, capabilities: Array<'gap_analysis' | 'build' | 'proposal'> = ['gap_analysis', 'build', 'proposal']) {
  await worker(name).agents.register({ name, version: '1.0.0', capabilities });
}

/** Claims and completes whatever is queued for `capabilities`, so a test starts from empty queues. */
async function drain(name: string) {
  for (;;) {
    const { job } = await worker(name).jobs.claim({ capabilities: ['gap_analysis', 'build', 'proposal'], waitMs: 0 });
    if (!job) return;
    await worker(name).jobs.complete({ jobId: job.jobId });
  }
}

beforeAll(async () => {
  nats = await startPrivateNats(4591);
  // Slow liveness: these agents never ping, and liveness is not what this file tests.
  coord = await startTestCoordination(nats, { HEARTBEAT_INTERVAL_MS: 10_000, AGENT_OFFLINE_AFTER_MS: 60_000 });
  await register('drainer');
});

afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

describe('jobs.trigger', () => {
  it('refuses malformed params with BAD_REQUEST and the zod issues, queuing nothing', async () => {
    const before = await queuedItems();
    const err = await rejection(alice().jobs.trigger({ jobType: 'gap_analysis', params: { depth: 'deep' } }));
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.cause).toBeInstanceOf(z.ZodError);
    expect((err.cause as z.ZodError).issues.map((i) => i.path.join('.'))).toEqual(['params.depth']);

    const unknownField = await rejection(alice().jobs.trigger({ jobType: 'build', params: { target: 'x', rm: '-rf' } }));
    expect(unknownField.code).toBe('BAD_REQUEST');
    const unknownType = await rejection(alice().jobs.trigger({ jobType: 'deploy' as 'build' }));
    expect(unknownType.code).toBe('BAD_REQUEST');

    expect(await queuedItems()).toBe(before);
    expect((await alice().jobs.list({ limit: 200 })).jobs).toHaveLength(0);
  });

  it('is for users and services: an agent token is FORBIDDEN', async () => {
    await register('pushy');
    expect((await rejection(worker('pushy').jobs.trigger({ jobType: 'build' }))).code).toBe('FORBIDDEN');
  });

  it('returns the same job for the same idempotency key (per caller), queuing it once', async () => {
    const before = await queuedItems();
    const first = await alice().jobs.trigger({ jobType: 'build', params: { target: 'idem' }, idempotencyKey: 'build-idem-1' });
    const again = await alice().jobs.trigger({ jobType: 'build', params: { target: 'idem' }, idempotencyKey: 'build-idem-1' });
    expect(first.created).toBe(true);
    expect(again).toEqual({ jobId: first.jobId, status: 'queued', created: false });
    expect(await queuedItems()).toBe(before + 1);

    const bobs = await coord.as(user('bob')).jobs.trigger({ jobType: 'build', idempotencyKey: 'build-idem-1' });
    expect(bobs.jobId).not.toBe(first.jobId);
    await drain('drainer');
  });
});

describe('dispatch', () => {
  it('refuses claims from users, from unregistered agents, and for capabilities the agent did not register', async () => {
    expect((await rejection(alice().jobs.claim({ capabilities: ['build'], waitMs: 0 }))).code).toBe('FORBIDDEN');
    expect((await rejection(worker('stranger').jobs.claim({ capabilities: ['build'], waitMs: 0 }))).code).toBe('PRECONDITION_FAILED');
    await register('builder-only', ['build']);
    expect((await rejection(worker('builder-only').jobs.claim({ capabilities: ['proposal'], waitMs: 0 }))).code).toBe('BAD_REQUEST');
  });

  it('hands out high before normal before low, and only the types an agent asks for', async () => {
    await register('prio');
    const low = await alice().jobs.trigger({ jobType: 'proposal', priority: 'low' });
    const normal = await alice().jobs.trigger({ jobType: 'proposal' });
    const high = await alice().jobs.trigger({ jobType: 'proposal', priority: 'high' });
    const other = await alice().jobs.trigger({ jobType: 'gap_analysis', priority: 'high' });
    await settled(); // all four are in their queues
    const order: string[] = [];
    for (;;) {
      const { job } = await worker('prio').jobs.claim({ capabilities: ['proposal'], waitMs: 0 });
      if (!job) break;
      order.push(job.jobId);
      await worker('prio').jobs.complete({ jobId: job.jobId });
    }
    expect(order).toEqual([high.jobId, normal.jobId, low.jobId]);
    expect((await alice().jobs.get({ jobId: other.jobId })).status).toBe('queued');
    await drain('drainer');
  });

  it('wakes a waiting claim as soon as a job is triggered', async () => {
    await register('waiter');
    const started = Date.now();
    const claim = worker('waiter').jobs.claim({ capabilities: ['build'], waitMs: 5_000 });
    await new Promise((r) => setTimeout(r, 300));
    const { jobId } = await alice().jobs.trigger({ jobType: 'build' });
    const { job } = await claim;
    const waited = Date.now() - started;
    expect(job?.jobId).toBe(jobId);
    expect(waited).toBeLessThan(1_500);
    await worker('waiter').jobs.complete({ jobId });
  });

  it('hands a job triggered while a claim waits straight to it: no work item is queued, and queued still precedes started', async () => {
    await register('handed');
    await drain('drainer');
    const jsm = await coord.nc.jetstreamManager();
    await settled();
    const lastSeq = async () => (await jsm.streams.info(JOBS_STREAM)).state.last_seq;
    const before = await lastSeq();
    const claim = worker('handed').jobs.claim({ capabilities: ['proposal'], waitMs: 5_000 });
    await waitFor('the claim to wait', () => (coord.deps.notifier.waiting > 0 ? true : undefined));
    const { jobId } = await alice().jobs.trigger({ jobType: 'proposal', params: { topic: 'handed over' } });
    const { job } = await claim;
    expect(job).toMatchObject({ jobId, status: 'running', agent: 'handed', attempt: 1 });
    await settled();
    expect(await lastSeq()).toBe(before); // nothing went through the work queue
    const events = (await readEvents(coord.nc, ['coordination.job.queued', 'coordination.job.started'])).filter(
      (e) => e.data.jobId === jobId,
    );
    expect(events.map((e) => e.subject)).toEqual(['coordination.job.queued', 'coordination.job.started']);
    await worker('handed').jobs.complete({ jobId });
  });
});

describe('lifecycle', () => {
  it('goes queued → running → succeeded with an event per transition', async () => {
    await register('runner');
    const task = coord.ops.task('operations'); // the service's own task: it may change it
    const { jobId } = await coord.as(service()).jobs.trigger({ jobType: 'gap_analysis', targetId: task, params: { depth: 2 } });
    const { job } = await worker('runner').jobs.claim({ capabilities: ['gap_analysis'], waitMs: 1_000 });
    expect(job).toMatchObject({ jobId, status: 'running', agent: 'runner', attempt: 1, params: { depth: 2 } });
    const progress = await worker('runner').jobs.progress({ jobId, fraction: 0.5, message: 'half' });
    expect(progress).toEqual({ status: 'running', keepGoing: true, cancelled: false });
    const { job: done, next: none } = await worker('runner').jobs.complete({ jobId, result: { gaps: 3 } });
    expect(none).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.history.map((h) => [h.status, h.agent])).toEqual([
      ['queued', null],
      ['running', 'runner'],
      ['succeeded', 'runner'],
    ]);
    // Repeating the complete (a lost answer) is answered, not refused; a different agent is refused.
    expect((await worker('runner').jobs.complete({ jobId })).job.status).toBe('succeeded');
    expect((await rejection(worker('prio').jobs.complete({ jobId }))).code).toBe('NOT_FOUND'); // not its job: as if none

    await settled();
    const events = (
      await readEvents(coord.nc, ['coordination.job.queued', 'coordination.job.started', 'coordination.job.succeeded'])
    ).filter((e) => e.data.jobId === jobId);
    expect(events.map((e) => e.subject)).toEqual(['coordination.job.queued', 'coordination.job.started', 'coordination.job.succeeded']);
    expect(events[2]!.data).toMatchObject({
      status: 'succeeded',
      agent: 'runner',
      attempt: 1,
      targetKind: 'task',
      targetId: task,
      result: { gaps: 3 },
      owner: { kind: 'service', id: 'operations' },
    });
  });

  it('retries a failed job after its backoff, dead-letters it after the last attempt, and jobs.retry brings it back', async () => {
    await register('flaky');
    // proposal: 2 attempts, 1 s base backoff
    const { jobId } = await alice().jobs.trigger({ jobType: 'proposal', params: { topic: 'retry' } });
    const first = (await worker('flaky').jobs.claim({ capabilities: ['proposal'], waitMs: 1_000 })).job!;
    const failedAt = Date.now();
    const { job: afterFirst } = await worker('flaky').jobs.fail({ jobId, error: 'boom 1' });
    expect(afterFirst).toMatchObject({ status: 'queued', failures: 1, error: 'boom 1' });
    expect(Date.parse(afterFirst.notBefore!)).toBeGreaterThanOrEqual(failedAt + 900);

    // Not before its backoff...
    expect((await worker('flaky').jobs.claim({ capabilities: ['proposal'], waitMs: 200 })).job).toBeNull();
    // ...but right after it.
    const second = (await worker('flaky').jobs.claim({ capabilities: ['proposal'], waitMs: 3_000 })).job!;
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual(950);
    expect(second).toMatchObject({ jobId, attempt: first.attempt + 1 });

    const { job: dead } = await worker('flaky').jobs.fail({ jobId, error: 'boom 2' });
    expect(dead.status).toBe('dead');
    expect(dead.history.map((h) => h.status)).toEqual(['queued', 'running', 'failed', 'queued', 'running', 'failed', 'dead']);

    await settled();
    const js = coord.nc.jetstream();
    const letter = await (await js.streams.get(JOBS_DEADLETTER_STREAM)).getMessage({ last_by_subj: 'jobs.dead.proposal' });
    const body = letter.json<{ reason: string; job: { jobId: string; history: unknown[] } }>();
    expect(body.job.jobId).toBe(jobId);
    expect(body.job.history).toHaveLength(7);
    expect(body.reason).toBe('gave up after 2 failure(s): boom 2');
    const deadEvents = (await readEvents(coord.nc, ['coordination.job.dead', 'coordination.job.failed'])).filter(
      (e) => e.data.jobId === jobId,
    );
    expect(deadEvents.map((e) => e.subject)).toEqual(['coordination.job.failed', 'coordination.job.failed', 'coordination.job.dead']);
    expect((await coord.as(user()).agents.get({ name: 'flaky' })).errorCount).toBe(2);

    expect((await rejection(alice().jobs.retry({ jobId: crypto.randomUUID() }))).code).toBe('NOT_FOUND');
    const retried = await alice().jobs.retry({ jobId });
    expect(retried).toMatchObject({ status: 'queued', failures: 0, notBefore: null });
    const third = (await worker('flaky').jobs.claim({ capabilities: ['proposal'], waitMs: 1_000 })).job!;
    expect(third.attempt).toBe(3);
    expect((await worker('flaky').jobs.complete({ jobId })).job.status).toBe('succeeded');
    expect((await rejection(alice().jobs.retry({ jobId }))).code).toBe('CONFLICT');
  });

  it('cancels a queued job (never dispatched) and a running one (its agent learns on ping and progress)', async () => {
    await register('cancelled-agent');
    const queued = await alice().jobs.trigger({ jobType: 'build', params: { target: 'never' } });
    expect((await alice().jobs.cancel({ jobId: queued.jobId, reason: 'changed my mind' })).status).toBe('cancelled');
    expect((await worker('cancelled-agent').jobs.claim({ capabilities: ['build'], waitMs: 200 })).job).toBeNull();

    const running = await alice().jobs.trigger({ jobType: 'build', params: { target: 'stop me' } });
    const job = (await worker('cancelled-agent').jobs.claim({ capabilities: ['build'], waitMs: 1_000 })).job!;
    expect(job.jobId).toBe(running.jobId);
    await alice().jobs.cancel({ jobId: job.jobId });
    const ping = await worker('cancelled-agent').agents.ping({ name: 'cancelled-agent', runningJobIds: [job.jobId] });
    expect(ping.cancelledJobIds).toEqual([job.jobId]);
    expect(await worker('cancelled-agent').jobs.progress({ jobId: job.jobId, fraction: 0.9 })).toEqual({
      status: 'cancelled',
      keepGoing: false,
      cancelled: true,
    });
    expect((await rejection(worker('cancelled-agent').jobs.complete({ jobId: job.jobId }))).code).toBe('CONFLICT');
    expect((await rejection(alice().jobs.cancel({ jobId: job.jobId }))).code).toBe('CONFLICT');
    await settled();
    const events = (await readEvents(coord.nc, ['coordination.job.cancelled'])).map((e) => e.data.jobId);
    expect(events).toEqual(expect.arrayContaining([queued.jobId, running.jobId]));
  });

  it('puts a released job back in the queue without counting a failure', async () => {
    await register('leaving');
    const { jobId } = await alice().jobs.trigger({ jobType: 'build' });
    await worker('leaving').jobs.claim({ capabilities: ['build'], waitMs: 1_000 });
    const released = await worker('leaving').jobs.release({ jobId, reason: 'shutting down' });
    expect(released).toMatchObject({ status: 'queued', failures: 0, agent: null });
    const again = (await worker('drainer').jobs.claim({ capabilities: ['build'], waitMs: 1_000 })).job!;
    expect(again).toMatchObject({ jobId, attempt: 2, agent: 'drainer' });
    await worker('drainer').jobs.complete({ jobId });
  });

  it('reports a job and claims the next in one call', async () => {
    await register('chain');
    const first = await alice().jobs.trigger({ jobType: 'build', params: { target: 'one' } });
    const second = await alice().jobs.trigger({ jobType: 'build', params: { target: 'two' } });
    await settled();
    const a = (await worker('chain').jobs.claim({ capabilities: ['build'], waitMs: 1_000 })).job!;
    const { job, next } = await worker('chain').jobs.complete({
      jobId: a.jobId,
      result: 'ok',
      next: { capabilities: ['build'], waitMs: 1_000 },
    });
    expect(job).toMatchObject({ jobId: first.jobId, status: 'succeeded' });
    expect(next).toMatchObject({ jobId: second.jobId, status: 'running', agent: 'chain' });
    const last = await worker('chain').jobs.fail({ jobId: second.jobId, error: 'nope', next: { capabilities: ['build'], waitMs: 0 } });
    expect(last.job.status).toBe('queued'); // retry after backoff
    expect(last.next).toBeNull();
    await alice().jobs.cancel({ jobId: second.jobId });
  });
});

describe('outbox', () => {
  it('writes each change with only what is still owed, and the sweep sends what a crash left unsent', async () => {
    await register('outboxer');
    await drain('drainer');
    const jobs = coord.deps.stores.jobs;
    const { jobId } = await alice().jobs.trigger({ jobType: 'gap_analysis' });
    await settled();
    const { job } = await worker('outboxer').jobs.claim({ capabilities: ['gap_analysis'], waitMs: 1_000 });
    expect(job?.jobId).toBe(jobId);
    await settled();
    // The claim's write dropped the queued event and work item this process had sent: it carries only its own event.
    const afterClaim = (await jobs.get(jobId))!;
    expect(afterClaim.record.outbox.map((m) => m.subject)).toEqual(['coordination.job.started']);
    expect((await jobs.pendingKeys(0, new Date())).map((p) => p.key)).not.toContain(jobId);

    // A crash between the record write and the send: the change and its marker are durable, nothing was published.
    const owed = jobEvent(coord.deps, {
      ...afterClaim.record,
      progress: { fraction: 0.5, message: 'crash', at: new Date().toISOString() },
    });
    await jobs.update(jobId, { ...afterClaim.record, outbox: [...afterClaim.record.outbox, owed] }, afterClaim.revision);
    expect((await readEvents(coord.nc, ['coordination.job.started'])).filter((e) => e.id === owed.msgId)).toHaveLength(0);
    expect(
      await sweepOutbox({ js: coord.nc.jetstream(), log: coord.deps.log, background: coord.deps.background }, jobs, 0, new Date()),
    ).toBeGreaterThanOrEqual(1);
    const started = (await readEvents(coord.nc, ['coordination.job.started'])).filter((e) => e.data.jobId === jobId);
    // The owed event arrived once, and the started event already sent was not published twice.
    expect(started.map((e) => e.id)).toEqual([afterClaim.record.outbox[0]!.msgId, owed.msgId]);
    expect((await jobs.pendingKeys(0, new Date())).map((p) => p.key)).not.toContain(jobId);
    await worker('outboxer').jobs.complete({ jobId });
  });

  it('covers the started and succeeded writes with the lease: the lease sweep sends what a crash left unsent, then removes the lease', async () => {
    await register('leaser');
    await drain('drainer');
    const jobs = coord.deps.stores.jobs;
    const { jobId } = await alice().jobs.trigger({ jobType: 'gap_analysis' });
    await settled();
    const { job } = await worker('leaser').jobs.claim({ capabilities: ['gap_analysis'], waitMs: 1_000 });
    expect(job?.jobId).toBe(jobId);
    await settled();
    // The started write has no outbox marker: the lease stands for it.
    expect((await jobs.pendingKeys(0, new Date())).map((p) => p.key)).not.toContain(jobId);
    const leaseKeys = async () => (await coord.deps.stores.leases.scan()).filter((l) => l.record.jobId === jobId).map((l) => l.key);
    expect(await leaseKeys()).toHaveLength(1);

    // A crash between the succeeded write and its send: no marker, the lease is all that is left of it.
    const running = (await jobs.get(jobId))!;
    const succeeded = transition(coord.deps, { ...running.record, outbox: [] }, 'succeeded', { leaseRevision: null });
    await jobs.update(jobId, succeeded, running.revision, null);
    expect((await jobs.pendingKeys(0, new Date())).map((p) => p.key)).not.toContain(jobId);
    // A replica's lease sweep, once the lease is older than two heartbeat intervals (a clock 25 s on),
    // finds the lease of a job no longer running: the owed event goes out exactly once, then the lease goes.
    await sweepLeases({ ...coord.deps, clock: () => new Date(Date.now() + 25_000) }, new Map());
    await settled();
    expect(await leaseKeys()).toHaveLength(0);
    const sent = (await readEvents(coord.nc, ['coordination.job.succeeded'])).filter((e) => e.data.jobId === jobId);
    expect(sent.map((e) => e.id)).toEqual([succeeded.outbox[0]!.msgId]);
  });
});

describe('two replicas', () => {
  it('decide on a fresh read when the version one remembers is stale: the job moved on another replica', async () => {
    const b = await startTestCoordination(nats, { HEARTBEAT_INTERVAL_MS: 10_000, AGENT_OFFLINE_AFTER_MS: 60_000 }, 'replica-b');
    try {
      await register('roamer');
      await drain('drainer');
      // Replica A (coord) creates the job and remembers it queued; replica B hands it to the agent.
      const { jobId } = await alice().jobs.trigger({ jobType: 'build' });
      await settled();
      expect(coord.deps.stores.jobs.recent.get(jobId)?.record.status).toBe('queued');
      const { job } = await b.as(agent('roamer')).jobs.claim({ capabilities: ['build'], waitMs: 2_000 });
      expect(job?.jobId).toBe(jobId);
      // The agent reports to A, whose memory says the job is queued and nobody's: a refusal
      // (NOT_FOUND) decided on that would be wrong; A decides again on a fresh read and records it.
      const { job: done } = await worker('roamer').jobs.complete({ jobId, result: { ok: true } });
      expect(done).toMatchObject({ jobId, status: 'succeeded', agent: 'roamer' });
      expect((await coord.deps.stores.jobs.get(jobId))?.record.history.map((h) => h.status)).toEqual(['queued', 'running', 'succeeded']);
    } finally {
      await b.close();
    }
  });
});

describe('jobs.list', () => {
  it('filters and pages newest first with a cursor', async () => {
    const target = coord.ops.task('alice');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await alice().jobs.trigger({ jobType: 'gap_analysis', targetId: target })).jobId);
    await alice().jobs.cancel({ jobId: ids[0]! });

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await alice().jobs.list({ targetId: target, limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((j) => j.jobId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    // Newest first by createdAt; jobs created in the same millisecond follow by id (descending).
    const created = await Promise.all(ids.map(async (jobId) => ({ jobId, createdAt: (await alice().jobs.get({ jobId })).createdAt })));
    const key = (j: { jobId: string; createdAt: string }) => `${j.createdAt} ${j.jobId}`;
    const expected = created.sort((a, b) => (key(a) < key(b) ? 1 : -1)).map((j) => j.jobId);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(5);

    const cancelled = await alice().jobs.list({ targetId: target, status: 'cancelled', limit: 50 });
    expect(cancelled.jobs.map((j) => j.jobId)).toEqual([ids[0]]);
    expect((await alice().jobs.list({ targetId: target, jobType: 'build', limit: 50 })).jobs).toHaveLength(0);
    expect((await rejection(alice().jobs.list({ cursor: 'garbage', limit: 5 }))).code).toBe('BAD_REQUEST');
    await drain('drainer');
  });
});
