import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCoordination, user, agent, type TestCoordination, rejection } from './support/coordination.js';
import { readEvents } from './support/events.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

// Schedules against a private nats-server, with two coordination replicas (separate connections,
// each running its scheduler every 100 ms) firing the same schedules.
let nats: PrivateNats;
let a: TestCoordination;
let b: TestCoordination;
const alice = () => a.as(user('alice'));

beforeAll(async () => {
  nats = await startPrivateNats(4593);
  a = await startTestCoordination(nats, {}, 'replica-a');
  b = await startTestCoordination(nats, {}, 'replica-b');
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await nats?.destroy();
});

describe('schedules', () => {
  it('fires once per tick with two replicas, then stops when deleted', async () => {
    const task = a.ops.task('alice');
    const schedule = await alice().schedules.create({
      cron: '* * * * * *',
      jobType: 'gap_analysis',
      params: { depth: 2 },
      targetId: task,
      priority: 'high',
    });
    expect(schedule).toMatchObject({
      jobType: 'gap_analysis',
      params: { depth: 2 },
      targetKind: 'task',
      priority: 'high',
      lastFiredTick: null,
      owner: { kind: 'user', id: 'alice' },
    });
    expect(Date.parse(schedule.nextRunAt!)).toBeGreaterThan(Date.parse(schedule.createdAt));

    await new Promise((r) => setTimeout(r, 3_300));
    await alice().schedules.delete({ scheduleId: schedule.scheduleId });
    await new Promise((r) => setTimeout(r, 1_200));

    const jobs = (await alice().jobs.list({ limit: 200 })).jobs.filter((j) => j.scheduleId === schedule.scheduleId);
    // 3.3 s of a per-second schedule: 3 ticks (4 if creation fell just before a second boundary).
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    expect(jobs.length).toBeLessThanOrEqual(4);
    const ticks = jobs.map((j) => j.idempotencyKey);
    expect(new Set(ticks).size).toBe(jobs.length);
    expect(jobs.every((j) => j.priority === 'high' && j.targetId === task && j.createdBy === 'service:coordination-scheduler')).toBe(true);
    // Made by the scheduler, but the schedule owner's jobs (their events carry that owner).
    expect(jobs.every((j) => j.owner?.kind === 'user' && j.owner.id === 'alice')).toBe(true);
    await Promise.all([a.deps.background.idle(), b.deps.background.idle()]);
    const queued = (await readEvents(a.nc, ['coordination.job.queued'])).filter((e) => jobs.some((j) => j.jobId === e.data.jobId));
    expect(queued).toHaveLength(jobs.length);
    expect(queued.every((e) => e.data.owner?.id === 'alice')).toBe(true);
    // Both replicas tried: the second create of a tick's job id lost, so nothing was doubled.
    expect((await alice().schedules.list({})).schedules.map((s) => s.scheduleId)).not.toContain(schedule.scheduleId);
  });

  it('validates cron, timezone and params at creation, storing nothing when they are wrong', async () => {
    const before = (await alice().schedules.list({})).schedules.length;
    expect((await rejection(alice().schedules.create({ cron: 'every tuesday', jobType: 'build' }))).code).toBe('BAD_REQUEST');
    expect((await rejection(alice().schedules.create({ cron: '0 9 * * 1', timezone: 'Mars/Olympus', jobType: 'build' }))).code).toBe(
      'BAD_REQUEST',
    );
    expect((await rejection(alice().schedules.create({ cron: '0 9 * * 1', jobType: 'gap_analysis', params: { depth: 99 } }))).code).toBe(
      'BAD_REQUEST',
    );
    expect((await rejection(a.as(agent('bot')).schedules.create({ cron: '0 9 * * 1', jobType: 'build' }))).code).toBe('FORBIDDEN');
    expect((await alice().schedules.list({})).schedules.length).toBe(before);
  });

  it('lists and deletes schedules', async () => {
    const weekly = await alice().schedules.create({
      cron: '0 9 * * 1',
      timezone: 'Europe/Paris',
      jobType: 'build',
      params: { target: 'weekly' },
    });
    expect(weekly.nextRunAt).not.toBeNull();
    expect((await b.as(user('alice')).schedules.list({ jobType: 'build' })).schedules.map((s) => s.scheduleId)).toContain(
      weekly.scheduleId,
    );
    // Another user neither lists it nor deletes it (ownership.int.test.ts has the full rule).
    expect((await b.as(user('bob')).schedules.list({ jobType: 'build' })).schedules.map((s) => s.scheduleId)).not.toContain(
      weekly.scheduleId,
    );
    expect(await alice().schedules.delete({ scheduleId: weekly.scheduleId })).toEqual({ deleted: true });
    expect((await rejection(alice().schedules.delete({ scheduleId: weekly.scheduleId }))).code).toBe('NOT_FOUND');
  });
});
