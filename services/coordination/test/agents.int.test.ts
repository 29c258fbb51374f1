import { heartbeatSubject, signHeartbeat, type UnsignedHeartbeat } from '@platform/contracts';
import { connectNats, createLogger } from '@platform/kit';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devToken, type PrivateNats, startPrivateNats } from '@platform/testkit';
import { ensureCoordinationStreams } from '../src/events/streams.js';
import { HEARTBEATS_CONSUMER, HEARTBEATS_STREAM } from '@platform/contracts';
import { agent, FAST, startTestCoordination, user, type TestCoordination, rejection } from './support/coordination.js';
import { readEvents, waitFor } from './support/events.js';

// The agent registry against a private nats-server with fast timings (FAST: heartbeat 300 ms →
// stale after 600 ms; offline TTL 1.5 s; sweeps every 100 ms; stuck grace 800 ms).
let nats: PrivateNats;
let coord: TestCoordination;
const operator = () => coord.as(user('operator'));
const as = (name: string) => coord.as(agent(name));
const ALL = ['gap_analysis', 'build', 'proposal'] as const;

/** Outbox sends run in the background: wait for them before looking at the streams. */
const settled = () => coord.deps.background.idle();

/** The job once it is queued again (taken back from its agent), within `timeoutMs`. */
const queuedAgain = (jobId: string, what: string, timeoutMs: number) =>
  waitFor(
    what,
    async () => {
      const job = await operator().jobs.get({ jobId });
      return job.status === 'queued' ? job : undefined;
    },
    timeoutMs,
  );

/** Pings every heartbeat interval (like the SDK) until stopped. */
function keepAlive(name: string, runningJobIds: () => string[] = () => []) {
  const timer = setInterval(
    () =>
      void as(name)
        .agents.ping({ name, runningJobIds: runningJobIds() })
        .catch(() => undefined),
    FAST.HEARTBEAT_INTERVAL_MS,
  );
  return () => clearInterval(timer);
}

beforeAll(async () => {
  nats = await startPrivateNats(4592);
  coord = await startTestCoordination(nats);
});

afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

describe('agents.register', () => {
  it('is idempotent by name, keeps an A2A card, and answers the heartbeat rules', async () => {
    const card = {
      name: 'Reviewer',
      description: 'Reviews proposals',
      url: 'https://agents.example/reviewer',
      skills: [{ id: 'review', name: 'Review', tags: ['proposal'] }],
      provider: { organization: 'Example' },
    };
    const first = await as('reviewer').agents.register({ name: 'reviewer', version: '1.0.0', capabilities: ['proposal'], card });
    expect(first).toMatchObject({ heartbeatIntervalMs: 300, staleAfterMs: 600, offlineAfterMs: 1_500 });
    expect(first.agent).toMatchObject({ name: 'reviewer', status: 'online', capabilities: ['proposal'], card, errorCount: 0 });

    const second = await as('reviewer').agents.register({ name: 'reviewer', version: '1.1.0', capabilities: ['proposal', 'build'], card });
    expect(second.agent.registeredAt).toBe(first.agent.registeredAt);
    expect(second.agent).toMatchObject({ version: '1.1.0', capabilities: ['proposal', 'build'] });
    expect((await operator().agents.list({})).agents.filter((a) => a.name === 'reviewer')).toHaveLength(1);
    await settled();
    const online = (await readEvents(coord.nc, ['coordination.agent.online'])).filter((e) => e.data.agent === 'reviewer');
    expect(online).toHaveLength(1);
  });

  it('refuses another agent’s name, user tokens and malformed cards', async () => {
    expect((await rejection(as('mallory').agents.register({ name: 'reviewer', version: '1', capabilities: ['build'] }))).code).toBe(
      'FORBIDDEN',
    );
    expect((await rejection(operator().agents.register({ name: 'operator', version: '1', capabilities: ['build'] }))).code).toBe(
      'FORBIDDEN',
    );
    const bad = { name: 'x', description: 'y', url: 'not a url', skills: [] };
    expect((await rejection(as('carded').agents.register({ name: 'carded', version: '1', capabilities: ['build'], card: bad }))).code).toBe(
      'BAD_REQUEST',
    );
    expect((await rejection(as('ghost').agents.ping({ name: 'ghost' }))).code).toBe('NOT_FOUND');
    expect((await rejection(operator().agents.get({ name: 'ghost' }))).code).toBe('NOT_FOUND');
  });

  it('accepts names that are not valid KV keys and lists by capability and status', async () => {
    const name = 'agent@example.com/ci runner';
    await as(name).agents.register({ name, version: '1', capabilities: ['gap_analysis'] });
    expect((await operator().agents.get({ name })).name).toBe(name);
    const analysts = (await operator().agents.list({ capability: 'gap_analysis' })).agents;
    expect(analysts.map((a) => a.name)).toContain(name);
    expect(analysts.every((a) => a.capabilities.includes('gap_analysis'))).toBe(true);
    expect((await operator().agents.list({ status: 'offline' })).agents.map((a) => a.name)).not.toContain(name);
  });
});

describe('liveness', () => {
  it('goes stale after two missed heartbeats and offline after the TTL, with events, and online again on a ping', async () => {
    const { agent: registered } = await as('sleepy').agents.register({ name: 'sleepy', version: '1', capabilities: ['build'] });
    const t0 = Date.parse(registered.lastPingAt);
    const statusAt = async (status: string) =>
      waitFor(
        `sleepy ${status}`,
        async () => ((await operator().agents.get({ name: 'sleepy' })).status === status ? Date.now() : undefined),
        6_000,
        20,
      );

    const staleAt = await statusAt('stale');
    const offlineAt = await statusAt('offline');
    // Stale: after 2 × 300 ms without a ping, within one sweep (100 ms) plus scheduling slack.
    expect(staleAt - t0).toBeGreaterThanOrEqual(600);
    expect(staleAt - t0).toBeLessThan(600 + 100 + 400);
    // Offline: once the server's TTL (1.5 s) removed the key; the server checks expiry about every 250 ms.
    expect(offlineAt - t0).toBeGreaterThanOrEqual(1_500);
    expect(offlineAt - t0).toBeLessThan(1_500 + 100 + 1_000);

    await settled();

    const events = (
      await readEvents(coord.nc, ['coordination.agent.online', 'coordination.agent.stale', 'coordination.agent.offline'])
    ).filter((e) => e.data.agent === 'sleepy');
    expect(events.map((e) => e.data.status)).toEqual(['online', 'stale', 'offline']);
    expect(events[1]!.data.lastPingAt).toBe(registered.lastPingAt);
    expect(events[2]!.data.lastPingAt).toBe(registered.lastPingAt);

    expect((await as('sleepy').agents.ping({ name: 'sleepy' })).status).toBe('online');
    expect((await operator().agents.get({ name: 'sleepy' })).status).toBe('online');
    await settled();
    const back = (await readEvents(coord.nc, ['coordination.agent.online'])).filter((e) => e.data.agent === 'sleepy');
    expect(back).toHaveLength(2);
  });

  it('keeps a pinging agent online', async () => {
    await as('steady').agents.register({ name: 'steady', version: '1', capabilities: ['build'] });
    const stop = keepAlive('steady');
    try {
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await operator().agents.get({ name: 'steady' })).status).toBe('online');
      await settled();
      const changes = (await readEvents(coord.nc, ['coordination.agent.stale', 'coordination.agent.offline'])).filter(
        (e) => e.data.agent === 'steady',
      );
      expect(changes).toHaveLength(0);
    } finally {
      stop();
    }
  });

  it('requeues the job of an agent that went offline; another agent completes it once', async () => {
    await as('doomed').agents.register({ name: 'doomed', version: '1', capabilities: [...ALL] });
    await as('rescuer').agents.register({ name: 'rescuer', version: '1', capabilities: [...ALL] });
    const stopRescuer = keepAlive('rescuer');
    try {
      const { jobId } = await operator().jobs.trigger({ jobType: 'build', params: { target: 'orphan' } });
      expect((await as('doomed').jobs.claim({ capabilities: ['build'], waitMs: 1_000 })).job?.jobId).toBe(jobId);
      // doomed never pings again
      const requeued = await queuedAgain(jobId, 'job requeued', 6_000);
      expect(requeued.failures).toBe(1);
      expect(requeued.history.at(-1)?.note).toMatch(/doomed went offline/);
      expect((await operator().agents.get({ name: 'doomed' })).status).toBe('offline');

      const taken = (await as('rescuer').jobs.claim({ capabilities: ['build'], waitMs: 1_000 })).job!;
      expect(taken).toMatchObject({ jobId, attempt: 2 });
      await as('rescuer').jobs.complete({ jobId, result: 'rescued' });
      expect((await rejection(as('doomed').jobs.complete({ jobId }))).code).toBe('NOT_FOUND'); // the rescuer's job now
      expect((await rejection(as('doomed').jobs.claim({ capabilities: ['build'], waitMs: 0 }))).code).toBe('PRECONDITION_FAILED');
      const final = await operator().jobs.get({ jobId });
      expect(final.history.map((h) => `${h.status}:${h.agent ?? '-'}`)).toEqual([
        'queued:-',
        'running:doomed',
        'queued:-',
        'running:rescuer',
        'succeeded:rescuer',
      ]);
      await settled();
      expect((await readEvents(coord.nc, ['coordination.job.succeeded'])).filter((e) => e.data.jobId === jobId)).toHaveLength(1);
    } finally {
      stopRescuer();
    }
  });

  it('requeues a job the agent restarted without, and one whose claim it never got — not one still in transit', async () => {
    const name = 'amnesiac';
    await as(name).agents.register({ name, version: '1', capabilities: ['gap_analysis'], session: 'process-1', runningJobIds: [] });
    const first = await operator().jobs.trigger({ jobType: 'gap_analysis' });
    expect((await as(name).jobs.claim({ capabilities: ['gap_analysis'], waitMs: 1_000, session: 'process-1', seq: 1 })).job?.jobId).toBe(
      first.jobId,
    );
    // The process restarts under the same name: the new one registers with a new session and no jobs.
    await new Promise((r) => setTimeout(r, 5));
    await as(name).agents.register({ name, version: '1', capabilities: ['gap_analysis'], session: 'process-2', runningJobIds: [] });
    const requeued = await queuedAgain(first.jobId, 'job of the old process requeued', 3_000);
    expect(requeued.history.at(-1)?.note).toMatch(/restarted without the job/);

    // process-2 claims it as claim #1; a heartbeat sent while that claim is unanswered (settled: 0) keeps it...
    expect((await as(name).jobs.claim({ capabilities: ['gap_analysis'], waitMs: 1_000, session: 'process-2', seq: 1 })).job?.jobId).toBe(
      first.jobId,
    );
    await as(name).agents.ping({ name, session: 'process-2', claimsSettled: 0, runningJobIds: [] });
    await new Promise((r) => setTimeout(r, 500));
    expect((await operator().jobs.get({ jobId: first.jobId })).status).toBe('running');
    // ...one sent after the claim settled without listing it (the answer was lost) gives it back.
    await as(name).agents.ping({ name, session: 'process-2', claimsSettled: 1, runningJobIds: [] });
    const lost = await queuedAgain(first.jobId, 'lost claim requeued', 3_000);
    expect(lost.history.at(-1)?.note).toMatch(/no longer lists the job/);
    expect((await operator().agents.get({ name })).status).toBe('online');

    const again = (await as(name).jobs.claim({ capabilities: ['gap_analysis'], waitMs: 1_000, session: 'process-2', seq: 2 })).job!;
    await as(name).jobs.complete({ jobId: again.jobId });
  });

  it('takes back a job whose claim write landed but whose answer from NATS was lost: its lease stays for the sweep', async () => {
    const name = 'unanswered';
    await as(name).agents.register({ name, version: '1', capabilities: ['proposal'], session: 'process-1', runningJobIds: [] });
    const { jobId } = await operator().jobs.trigger({ jobType: 'proposal' });
    await settled();
    // The claim's compare-and-set reaches the server, but its answer does not come back (as when
    // the KV stream's leader dies between the two): the claim fails, and nobody knows it ran.
    const jobs = coord.deps.stores.jobs;
    const update = jobs.update.bind(jobs);
    jobs.update = async (key, record, revision, marker) => {
      const written = await update(key, record, revision, marker);
      if (key === jobId && record.status === 'running') throw new Error('TIMEOUT');
      return written;
    };
    try {
      await rejection(as(name).jobs.claim({ capabilities: ['proposal'], waitMs: 1_000, session: 'process-1', seq: 1 }));
    } finally {
      jobs.update = update;
    }
    await settled();
    expect(await operator().jobs.get({ jobId })).toMatchObject({ status: 'running', agent: name });
    const leases = (await coord.deps.stores.leases.scan()).filter((l) => l.record.jobId === jobId);
    expect(leases.map((l) => l.record.agent)).toEqual([name]);
    // The agent's next heartbeat: claim #1 settled (it failed), no job listed. The job goes back.
    await as(name).agents.ping({ name, session: 'process-1', claimsSettled: 1, runningJobIds: [] });
    const back = await queuedAgain(jobId, 'unanswered claim requeued', 3_000);
    expect(back.history.at(-1)?.note).toMatch(/no longer lists the job/);
    const again = (await as(name).jobs.claim({ capabilities: ['proposal'], waitMs: 1_000, session: 'process-1', seq: 2 })).job!;
    expect(again.jobId).toBe(jobId);
    await as(name).jobs.complete({ jobId });
    expect((await operator().jobs.get({ jobId })).status).toBe('succeeded');
  });
});

describe('heartbeats over NATS', () => {
  /** Each agent's heartbeat signing key, from its latest registration. */
  const keys = new Map<string, string>();
  const register = async (name: string) => {
    keys.set(name, (await as(name).agents.register({ name, version: '1', capabilities: ['build'], session: 's-1' })).heartbeatKey);
  };
  const unsigned = (name: string, extra: Partial<UnsignedHeartbeat> = {}): UnsignedHeartbeat => ({
    v: 2,
    agent: name,
    sentAt: new Date().toISOString(),
    runningJobIds: [],
    load: 0.5,
    session: 's-1',
    claimsSettled: 0,
    ...extra,
  });
  /** Publishes a heartbeat for `name` as an SDK agent would (acknowledged by the stream). */
  const publish = async (name: string, body: unknown) =>
    (await nats.connectAs('agent')).jetstream().publish(heartbeatSubject(name), typeof body === 'string' ? body : JSON.stringify(body));
  /** A heartbeat signed with the agent's key (a random one for an agent never registered here). */
  const beat = async (name: string, extra: Partial<UnsignedHeartbeat> = {}) =>
    publish(name, signHeartbeat(keys.get(name) ?? randomBytes(32).toString('base64url'), unsigned(name, extra)));
  const statusOf = async (name: string) => (await operator().agents.get({ name })).status;

  it('keep an agent online without pings, bring a stale one back with its event, and carry what a ping carries', async () => {
    await register('natty');
    await waitFor('natty stale', async () => ((await statusOf('natty')) === 'stale' ? true : undefined), 3_000, 20);
    const sentAt = Date.now();
    await beat('natty', { load: 0.25 });
    await waitFor('natty online', async () => ((await statusOf('natty')) === 'online' ? true : undefined), 2_000, 20);
    // Taken on the next liveness tick (every 100 ms here).
    expect(Date.now() - sentAt).toBeLessThan(100 + 400);
    const timer = setInterval(() => void beat('natty').catch(() => undefined), FAST.HEARTBEAT_INTERVAL_MS);
    try {
      await new Promise((r) => setTimeout(r, 2_000)); // beyond the offline TTL (1.5 s)
      const view = await operator().agents.get({ name: 'natty' });
      expect(view).toMatchObject({ status: 'online', load: 0.5, runningJobIds: [] });
      expect(Date.now() - Date.parse(view.lastPingAt)).toBeLessThan(FAST.HEARTBEAT_INTERVAL_MS + 200);
    } finally {
      clearInterval(timer);
    }
    await settled();
    const events = (
      await readEvents(coord.nc, ['coordination.agent.online', 'coordination.agent.stale', 'coordination.agent.offline'])
    ).filter((e) => e.data.agent === 'natty');
    expect(events.map((e) => e.data.status)).toEqual(['online', 'stale', 'online']);
  });

  it('are dropped when unsigned (a version 1 bearer token), signed with a wrong or another agent’s key, or malformed', async () => {
    await register('forged');
    await register('mallory');
    const forgeries = [
      // Version 1 heartbeats carried the agent's bearer token: refused even with the agent's own valid token.
      async () =>
        publish('forged', {
          token: await devToken({ kind: 'agent', id: 'forged', roles: ['agent'] }),
          runningJobIds: [],
          load: null,
          session: null,
          claimsSettled: null,
        }),
      () => publish('forged', { ...signHeartbeat(keys.get('forged')!, unsigned('forged')), mac: randomBytes(32).toString('base64url') }),
      () => publish('forged', signHeartbeat(keys.get('mallory')!, unsigned('forged'))),
      () => publish('forged', signHeartbeat(keys.get('mallory')!, unsigned('mallory'))),
      () => publish('forged', signHeartbeat(keys.get('forged')!, unsigned('forged', { runningJobIds: ['not-a-uuid'] }))),
      () => publish('forged', '{ not json'),
    ];
    const timer = setInterval(() => void Promise.all(forgeries.map((f) => f())).catch(() => undefined), FAST.HEARTBEAT_INTERVAL_MS / 2);
    try {
      await waitFor(
        'forged stale despite the heartbeats',
        async () => ((await statusOf('forged')) === 'stale' ? true : undefined),
        3_000,
        20,
      );
    } finally {
      clearInterval(timer);
    }
    // An unregistered agent's heartbeat is dropped too: it must register first.
    await beat('ghost');
    await new Promise((r) => setTimeout(r, 300));
    expect((await rejection(operator().agents.get({ name: 'ghost' }))).code).toBe('NOT_FOUND');
  });

  it('failing to be taken (consumer gone) stops neither the status sweep nor, once repaired, themselves', async () => {
    const jsm = await coord.nc.jetstreamManager();
    await jsm.consumers.delete(HEARTBEATS_STREAM, HEARTBEATS_CONSUMER);
    try {
      await register('sweeper');
      await beat('sweeper');
      await waitFor(
        'sweeper stale although the heartbeat stream is broken',
        async () => ((await statusOf('sweeper')) === 'stale' ? true : undefined),
        3_000,
        20,
      );
    } finally {
      await ensureCoordinationStreams(coord.nc, {
        agentTtlMs: FAST.AGENT_OFFLINE_AFTER_MS,
        heartbeatIntervalMs: FAST.HEARTBEAT_INTERVAL_MS,
      });
    }
    await beat('sweeper');
    await waitFor('sweeper online again over NATS', async () => ((await statusOf('sweeper')) === 'online' ? true : undefined), 2_000, 20);
  });

  it('need only a NATS user that may publish heartbeats and nothing else', async () => {
    const nc = await connectNats({
      url: nats.url,
      user: nats.agentUser,
      password: nats.agentPassword,
      name: 'agent-user-test',
      log: createLogger('agent-user-test', 'fatal'),
      attempts: 1,
    });
    try {
      const js = nc.jetstream();
      await register('limited');
      const ack = await js.publish(heartbeatSubject('limited'), JSON.stringify(signHeartbeat(keys.get('limited')!, unsigned('limited'))));
      expect(ack.stream).toBe('AGENT_HEARTBEATS');
      // The stream refuses an oversized heartbeat outright (max_msg_size 64 KiB).
      await expect(js.publish(heartbeatSubject('limited'), 'x'.repeat(70_000))).rejects.toThrow(/message size exceeds maximum/i);
      // Not the work queue, nor the liveness bucket itself: the server drops those publishes, so no acknowledgement comes.
      await expect(js.publish('jobs.queue.build.high', '{}', { timeout: 500 })).rejects.toThrow();
      await expect(js.publish('$KV.agent_liveness.limited-forged', '{}', { timeout: 500 })).rejects.toThrow();
      expect(await coord.deps.stores.liveness.get('limited-forged')).toBeNull();
    } finally {
      await nc.close();
    }
  });
});

describe('agents.reportStuck', () => {
  it('publishes coordination.agent.stuck and releases the job after the grace period', async () => {
    await as('stuckie').agents.register({ name: 'stuckie', version: '1', capabilities: ['proposal'] });
    const { jobId } = await operator().jobs.trigger({ jobType: 'proposal', params: { topic: 'hard' } });
    expect((await as('stuckie').jobs.claim({ capabilities: ['proposal'], waitMs: 1_000 })).job?.jobId).toBe(jobId);
    const stop = keepAlive('stuckie', () => [jobId]); // alive, just stuck
    try {
      const reportedAt = Date.now();
      const report = await as('stuckie').agents.reportStuck({ name: 'stuckie', jobId, reason: 'cannot parse the spec' });
      expect(Date.parse(report.releaseAt!) - reportedAt).toBeGreaterThanOrEqual(800 - 50);
      expect(report.agent).toMatchObject({ stuckCount: 1, lastStuck: { reason: 'cannot parse the spec', jobId } });
      await settled();
      const [event] = (await readEvents(coord.nc, ['coordination.agent.stuck'])).filter((e) => e.data.agent === 'stuckie');
      expect(event?.data).toEqual({ agent: 'stuckie', jobId, reason: 'cannot parse the spec', reportedAt: report.agent.lastStuck!.at });

      // Still the agent's during the grace period...
      await new Promise((r) => setTimeout(r, 400));
      expect((await operator().jobs.get({ jobId })).status).toBe('running');
      // ...then released for another agent.
      const released = await queuedAgain(jobId, 'stuck job released', 4_000);
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(report.releaseAt!));
      expect(released.history.at(-1)?.note).toMatch(/reported stuck/);
      expect((await as('stuckie').agents.ping({ name: 'stuckie', runningJobIds: [jobId] })).lostJobIds).toEqual([jobId]);
    } finally {
      stop();
    }
  });

  it('records a report without a job, from the agent or an operator, but not from another agent', async () => {
    await as('lost').agents.register({ name: 'lost', version: '1', capabilities: ['build'] });
    expect((await as('lost').agents.reportStuck({ name: 'lost', reason: 'no credentials' })).releaseAt).toBeNull();
    expect((await operator().agents.reportStuck({ name: 'lost', reason: 'looping' })).agent.stuckCount).toBe(2);
    expect((await rejection(as('nosy').agents.reportStuck({ name: 'lost', reason: 'x' }))).code).toBe('FORBIDDEN');
    await settled();
    const events = (await readEvents(coord.nc, ['coordination.agent.stuck'])).filter((e) => e.data.agent === 'lost');
    expect(events.map((e) => [e.data.jobId, e.data.reason])).toEqual([
      [null, 'no credentials'],
      [null, 'looping'],
    ]);
  });
});
