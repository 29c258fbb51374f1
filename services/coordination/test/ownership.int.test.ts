import type { Principal } from '@platform/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJob } from '../src/domain/jobs.js';
import { admin, agent, service, startTestCoordination, user, type TestCoordination, rejection } from './support/coordination.js';
import { readEvents, waitFor } from './support/events.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

// Ownership of jobs and schedules (issue 12, item 4) through the router against a private
// nats-server. Operations' side (teams, who may change a task) is FakeOperations, which answers by
// operations' rules: alice and carol share team `team` (carol a member, vera a viewer); bob is in
// no team with them.
let nats: PrivateNats;
let coord: TestCoordination;
let team: string;
const as = (p: Principal) => coord.as(p);
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');
const vera = user('vera');

const codeOf = async (p: Promise<unknown>) => (await rejection(p)).code;

/** Every job in the bucket, whoever owns it (as a service sees them). */
const allJobs = async () => (await as(service()).jobs.list({ limit: 200 })).jobs;

beforeAll(async () => {
  nats = await startPrivateNats(4598);
  coord = await startTestCoordination(nats, { HEARTBEAT_INTERVAL_MS: 10_000, AGENT_OFFLINE_AFTER_MS: 60_000 });
  team = coord.ops.team({ alice: 'owner', carol: 'member', vera: 'viewer' });
  for (const name of ['holder', 'bystander'])
    await as(agent(name)).agents.register({ name, version: '1.0.0', capabilities: ['gap_analysis', 'build', 'proposal'] });
});

afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

describe('a job belongs to whoever triggered it', () => {
  it('records the owner (and team) on the job and in its events', async () => {
    const { jobId } = await as(alice).jobs.trigger({ jobType: 'proposal', params: { topic: 'owned' }, teamId: team });
    expect(await as(alice).jobs.get({ jobId })).toMatchObject({
      owner: { kind: 'user', id: 'alice' },
      teamId: team,
      createdBy: 'user:alice',
    });
    await coord.deps.background.idle();
    const queued = (await readEvents(coord.nc, ['coordination.job.queued'])).find((e) => e.data.jobId === jobId);
    expect(queued?.data.owner).toEqual({ kind: 'user', id: 'alice' });
    await as(alice).jobs.cancel({ jobId });
  });

  it('jobs.get: the owner, services and admins see params and result; another user gets NOT_FOUND, exactly as for a job that does not exist', async () => {
    const { jobId } = await as(alice).jobs.trigger({ jobType: 'proposal', params: { topic: 'secret plan' } });
    expect((await as(alice).jobs.get({ jobId })).params).toEqual({ topic: 'secret plan' });
    expect((await as(service()).jobs.get({ jobId })).jobId).toBe(jobId);
    expect((await as(admin()).jobs.get({ jobId })).jobId).toBe(jobId);

    const foreign = await rejection(as(bob).jobs.get({ jobId }));
    const missing = await rejection(as(bob).jobs.get({ jobId: crypto.randomUUID() }));
    expect(foreign.code).toBe('NOT_FOUND');
    // No hint that it exists: same code, same message shape (only the id differs).
    expect(foreign.message.replace(jobId, 'ID')).toBe(missing.message.replace(/[0-9a-f-]{36}/, 'ID'));
    // A personal job is not the team's: carol shares a team with alice but not this job.
    expect(await codeOf(as(carol).jobs.get({ jobId }))).toBe('NOT_FOUND');
    await as(alice).jobs.cancel({ jobId });
  });

  it('a team job: every member of the team (any role) may read, cancel and retry it; an outsider may not', async () => {
    const { jobId } = await as(alice).jobs.trigger({ jobType: 'proposal', params: { topic: 'team work' }, teamId: team });
    expect((await as(carol).jobs.get({ jobId })).params).toEqual({ topic: 'team work' });
    expect((await as(vera).jobs.get({ jobId })).jobId).toBe(jobId);
    expect(await codeOf(as(bob).jobs.get({ jobId }))).toBe('NOT_FOUND');
    expect(await codeOf(as(bob).jobs.cancel({ jobId }))).toBe('NOT_FOUND');
    expect((await as(carol).jobs.cancel({ jobId, reason: 'team decision' })).status).toBe('cancelled');
  });

  it('sharing with a team needs membership: FORBIDDEN otherwise, and nothing is queued', async () => {
    const before = (await allJobs()).length;
    expect(await codeOf(as(bob).jobs.trigger({ jobType: 'proposal', teamId: team }))).toBe('FORBIDDEN');
    expect(await codeOf(as(bob).schedules.create({ cron: '0 9 * * 1', jobType: 'proposal', teamId: team }))).toBe('FORBIDDEN');
    expect((await allJobs()).length).toBe(before);
  });

  it('cancel and retry by another user are NOT_FOUND and change nothing; the owner and a service may', async () => {
    const queued = await as(alice).jobs.trigger({ jobType: 'build', params: { target: 'keep me' } });
    expect(await codeOf(as(bob).jobs.cancel({ jobId: queued.jobId }))).toBe('NOT_FOUND');
    expect((await as(alice).jobs.get({ jobId: queued.jobId })).status).toBe('queued');
    expect((await as(service()).jobs.cancel({ jobId: queued.jobId })).status).toBe('cancelled');

    // A dead job: retry is the owner's (or the team's, a service's, an admin's), never a stranger's.
    const { job } = await createDeadJob(alice);
    expect(await codeOf(as(bob).jobs.retry({ jobId: job }))).toBe('NOT_FOUND');
    expect((await as(alice).jobs.get({ jobId: job })).status).toBe('dead');
    expect((await as(alice).jobs.retry({ jobId: job })).status).toBe('queued');
    await as(alice).jobs.cancel({ jobId: job });
  });

  it('jobs.list shows only what the caller may see, whatever the filters', async () => {
    const target = coord.ops.task('alice');
    const mine = await as(alice).jobs.trigger({ jobType: 'gap_analysis', targetId: target });
    const shared = await as(alice).jobs.trigger({ jobType: 'gap_analysis', targetId: target, teamId: team });
    const ids = async (p: Principal) => (await as(p).jobs.list({ targetId: target, limit: 50 })).jobs.map((j) => j.jobId).sort();
    expect(await ids(alice)).toEqual([mine.jobId, shared.jobId].sort());
    expect(await ids(carol)).toEqual([shared.jobId]);
    expect(await ids(bob)).toEqual([]);
    expect(await ids(service())).toEqual([mine.jobId, shared.jobId].sort());
    expect(await ids(admin())).toEqual([mine.jobId, shared.jobId].sort());
    // Unfiltered, bob's list holds only bob's jobs.
    const bobs = await as(bob).jobs.trigger({ jobType: 'proposal' });
    expect((await as(bob).jobs.list({ limit: 200 })).jobs.every((j) => j.owner?.id === 'bob' && j.owner.kind === 'user')).toBe(true);
    for (const j of [mine, shared]) await as(alice).jobs.cancel({ jobId: j.jobId });
    await as(bob).jobs.cancel({ jobId: bobs.jobId });
  });

  it('a job written before jobs had owners is for services and admins only', async () => {
    const { job } = await createJob(
      coord.deps,
      { owner: null, teamId: null, createdBy: 'user:alice', scheduleId: null },
      { jobType: 'proposal', targetKind: 'none', targetId: null, params: {} },
    );
    expect(await codeOf(as(alice).jobs.get({ jobId: job.id }))).toBe('NOT_FOUND');
    expect((await as(alice).jobs.list({ limit: 200 })).jobs.map((j) => j.jobId)).not.toContain(job.id);
    expect(await codeOf(as(alice).jobs.cancel({ jobId: job.id }))).toBe('NOT_FOUND');
    expect((await as(service()).jobs.get({ jobId: job.id })).owner).toBeNull();
    expect((await as(admin()).jobs.cancel({ jobId: job.id })).status).toBe('cancelled');
  });
});

describe('an agent sees a job only while it holds it', () => {
  it('before the claim, after it (another agent), and once it is done: NOT_FOUND and not listed', async () => {
    const { jobId } = await as(alice).jobs.trigger({ jobType: 'gap_analysis', params: { depth: 3 } });
    expect(await codeOf(as(agent('holder')).jobs.get({ jobId }))).toBe('NOT_FOUND');
    const { job } = await as(agent('holder')).jobs.claim({ capabilities: ['gap_analysis'], waitMs: 1_000 });
    expect(job?.jobId).toBe(jobId);

    expect((await as(agent('holder')).jobs.get({ jobId })).params).toEqual({ depth: 3 });
    expect((await as(agent('holder')).jobs.list({ limit: 200 })).jobs.map((j) => j.jobId)).toEqual([jobId]);
    expect(await codeOf(as(agent('bystander')).jobs.get({ jobId }))).toBe('NOT_FOUND');
    expect((await as(agent('bystander')).jobs.list({ limit: 200 })).jobs).toEqual([]);
    // ...and the bystander cannot act on it either (these already checked holding).
    expect(await codeOf(as(agent('bystander')).jobs.complete({ jobId }))).toBe('NOT_FOUND');
    expect(await codeOf(as(agent('bystander')).jobs.progress({ jobId, fraction: 0.5 }))).toBe('NOT_FOUND');
    expect(await codeOf(as(agent('bystander')).jobs.release({ jobId }))).toBe('NOT_FOUND');
    // Agents never cancel or retry, held or not.
    expect(await codeOf(as(agent('holder')).jobs.cancel({ jobId }))).toBe('FORBIDDEN');

    await as(agent('holder')).jobs.complete({ jobId, result: { gaps: 1 } });
    expect(await codeOf(as(agent('holder')).jobs.get({ jobId }))).toBe('NOT_FOUND');
    expect((await as(agent('holder')).jobs.list({ limit: 200 })).jobs).toEqual([]);
    expect((await as(alice).jobs.get({ jobId })).result).toEqual({ gaps: 1 });
  });

  it('sees no schedules', async () => {
    const s = await as(alice).schedules.create({ cron: '0 9 * * 1', jobType: 'proposal' });
    expect((await as(agent('holder')).schedules.list({})).schedules.map((x) => x.scheduleId)).not.toContain(s.scheduleId);
    await as(alice).schedules.delete({ scheduleId: s.scheduleId });
  });
});

describe('a job that targets a task needs a caller who may change the task', () => {
  it("refuses another user's task with NOT_FOUND, and queues nothing", async () => {
    const alicesTask = coord.ops.task('alice');
    const before = (await allJobs()).length;
    expect(await codeOf(as(bob).jobs.trigger({ jobType: 'build', targetId: alicesTask }))).toBe('NOT_FOUND');
    expect(
      await codeOf(as(bob).jobs.trigger({ jobType: 'build', targetId: alicesTask, targetKind: 'task', idempotencyKey: 'sneaky' })),
    ).toBe('NOT_FOUND');
    expect((await allJobs()).length).toBe(before);
    expect((await allJobs()).some((j) => j.targetId === alicesTask)).toBe(false);
  });

  it('refuses with FORBIDDEN a caller who can see the task but not change it (a team viewer)', async () => {
    const teamTask = coord.ops.task('alice', team);
    expect(await codeOf(as(vera).jobs.trigger({ jobType: 'build', targetId: teamTask }))).toBe('FORBIDDEN');
    expect((await allJobs()).some((j) => j.targetId === teamTask)).toBe(false);
  });

  it('allows the owner and a team member, asking operations as the caller (never as coordination)', async () => {
    const teamTask = coord.ops.task('alice', team);
    coord.ops.asked.length = 0;
    const byOwner = await as(alice).jobs.trigger({ jobType: 'build', targetId: teamTask });
    const byMember = await as(carol).jobs.trigger({ jobType: 'build', targetId: teamTask });
    expect(coord.ops.asked).toEqual([
      { principal: alice, taskId: teamTask },
      { principal: carol, taskId: teamTask },
    ]);
    // carol's job is carol's: alice (not sharing it) does not see it
    expect(await codeOf(as(alice).jobs.get({ jobId: byMember.jobId }))).toBe('NOT_FOUND');
    for (const [p, j] of [
      [alice, byOwner],
      [carol, byMember],
    ] as const)
      await as(p).jobs.cancel({ jobId: j.jobId });
  });

  it('refuses a task target that is not a task id (it could never be applied)', async () => {
    expect(await codeOf(as(alice).jobs.trigger({ jobType: 'build', targetId: 'task-1' }))).toBe('BAD_REQUEST');
  });

  it('is refused, not let through, when operations cannot answer', async () => {
    const task = coord.ops.task('alice');
    const original = coord.ops.mayChangeTask.bind(coord.ops);
    coord.ops.mayChangeTask = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:4102');
    };
    try {
      expect(await codeOf(as(alice).jobs.trigger({ jobType: 'build', targetId: task }))).toBe('SERVICE_UNAVAILABLE');
    } finally {
      coord.ops.mayChangeTask = original;
    }
    expect((await allJobs()).some((j) => j.targetId === task)).toBe(false);
  });
});

describe('a schedule belongs to whoever created it, and so do its jobs', () => {
  it('schedules.list hides it from others; schedules.delete by another user is NOT_FOUND and deletes nothing', async () => {
    const s = await as(alice).schedules.create({ cron: '0 9 * * 1', jobType: 'proposal', params: { topic: 'weekly' } });
    expect(s.owner).toEqual({ kind: 'user', id: 'alice' });
    const listed = async (p: Principal) => (await as(p).schedules.list({})).schedules.map((x) => x.scheduleId);
    expect(await listed(alice)).toContain(s.scheduleId);
    expect(await listed(service())).toContain(s.scheduleId);
    expect(await listed(bob)).not.toContain(s.scheduleId);
    expect(await listed(carol)).not.toContain(s.scheduleId);
    expect(await codeOf(as(bob).schedules.delete({ scheduleId: s.scheduleId }))).toBe('NOT_FOUND');
    expect(await listed(alice)).toContain(s.scheduleId);
    expect(await as(service()).schedules.delete({ scheduleId: s.scheduleId })).toEqual({ deleted: true });
  });

  it('a team schedule: members list and delete it', async () => {
    const s = await as(alice).schedules.create({ cron: '0 9 * * 1', jobType: 'proposal', teamId: team });
    expect((await as(vera).schedules.list({})).schedules.map((x) => x.scheduleId)).toContain(s.scheduleId);
    expect(await as(carol).schedules.delete({ scheduleId: s.scheduleId })).toEqual({ deleted: true });
  });

  it('refuses a schedule on a task the caller may not change', async () => {
    const alicesTask = coord.ops.task('alice');
    expect(await codeOf(as(bob).schedules.create({ cron: '* * * * * *', jobType: 'build', targetId: alicesTask }))).toBe('NOT_FOUND');
    expect(
      await codeOf(as(vera).schedules.create({ cron: '* * * * * *', jobType: 'build', targetId: coord.ops.task('alice', team) })),
    ).toBe('FORBIDDEN');
    expect((await as(service()).schedules.list({})).schedules.some((x) => x.targetId === alicesTask)).toBe(false);
  });

  it("its jobs are the schedule owner's: visible to them and their team, not to others, and their events carry the owner", async () => {
    const target = coord.ops.task('alice', team);
    const s = await as(alice).schedules.create({ cron: '* * * * * *', jobType: 'gap_analysis', targetId: target, teamId: team });
    const job = await waitFor('a scheduled job', async () =>
      (await as(alice).jobs.list({ targetId: target, limit: 5 })).jobs.find((j) => j.scheduleId === s.scheduleId),
    );
    await as(alice).schedules.delete({ scheduleId: s.scheduleId });
    expect(job).toMatchObject({ owner: { kind: 'user', id: 'alice' }, teamId: team, createdBy: 'service:coordination-scheduler' });
    expect((await as(carol).jobs.get({ jobId: job.jobId })).jobId).toBe(job.jobId);
    expect(await codeOf(as(bob).jobs.get({ jobId: job.jobId }))).toBe('NOT_FOUND');
    await coord.deps.background.idle();
    const queued = (await readEvents(coord.nc, ['coordination.job.queued'])).find((e) => e.data.jobId === job.jobId);
    expect(queued?.data.owner).toEqual({ kind: 'user', id: 'alice' });
    await as(alice)
      .jobs.cancel({ jobId: job.jobId })
      .catch(() => undefined);
  });
});

/** A job of `owner`'s that has died (proposal: two attempts), held and failed by the `holder` agent. */
async function createDeadJob(owner: Principal): Promise<{ job: string }> {
  const { jobId } = await as(owner).jobs.trigger({ jobType: 'proposal', params: { topic: 'doomed' }, priority: 'high' });
  for (let i = 0; i < 2; i++) {
    const { job } = await as(agent('holder')).jobs.claim({ capabilities: ['proposal'], waitMs: 3_000 });
    if (job?.jobId !== jobId) throw new Error(`claimed ${job?.jobId ?? 'nothing'} instead of ${jobId}`);
    const { job: after } = await as(agent('holder')).jobs.fail({ jobId, error: `boom ${i}` });
    if (after.status === 'dead') return { job: jobId };
  }
  throw new Error('the job did not die');
}
