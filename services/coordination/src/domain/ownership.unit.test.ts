import type { Principal } from '@platform/contracts';
import { staticTeamDirectory } from '@platform/kit';
import { describe, expect, it } from 'vitest';
import { assertMayShareWith, viewerFor, type OwnedJob } from './ownership.js';
import { assertMayTarget, targetOf, type TaskAccess } from './task-access.js';

const alice: Principal = { kind: 'user', id: 'alice', roles: [] };
const bob: Principal = { kind: 'user', id: 'bob', roles: [] };
const carol: Principal = { kind: 'user', id: 'carol', roles: [] }; // in alice's team
const admin: Principal = { kind: 'user', id: 'root', roles: ['admin'] };
const svc: Principal = { kind: 'service', id: 'operations', roles: ['service'] };
const worker: Principal = { kind: 'agent', id: 'worker', roles: ['agent'] };
const aliceAgent: Principal = { kind: 'agent', id: 'alice', roles: ['agent'] }; // same id, another kind
const teams = staticTeamDirectory({ alice: ['t1'], carol: ['t1'], bob: ['t2'] });

const job = (over: Partial<OwnedJob> = {}): OwnedJob => ({
  owner: { kind: 'user', id: 'alice' },
  teamId: null,
  status: 'queued',
  agent: null,
  ...over,
});
const sees = async (p: Principal, j: OwnedJob) => (await viewerFor(teams, p)).job(j);

describe('who sees a job (and so may read, cancel, retry it)', () => {
  it('its owner, services and platform admins; not another user, not an agent of the same id', async () => {
    expect(await sees(alice, job())).toBe(true);
    expect(await sees(svc, job())).toBe(true);
    expect(await sees(admin, job())).toBe(true);
    expect(await sees(bob, job())).toBe(false);
    expect(await sees(carol, job())).toBe(false); // a personal job is not the team's
    expect(await sees(aliceAgent, job())).toBe(false);
  });

  it("members of the job's team, and only of that team", async () => {
    expect(await sees(carol, job({ teamId: 't1' }))).toBe(true);
    expect(await sees(bob, job({ teamId: 't1' }))).toBe(false);
  });

  it('an agent only while it holds the job', async () => {
    expect(await sees(worker, job({ status: 'running', agent: 'worker' }))).toBe(true);
    expect(await sees(worker, job({ status: 'running', agent: 'other' }))).toBe(false);
    expect(await sees(worker, job({ status: 'succeeded', agent: 'worker' }))).toBe(false); // finished: no longer held
    expect(await sees(worker, job({ status: 'queued' }))).toBe(false);
  });

  it('a record without an owner (written before owners) only services and admins', async () => {
    const legacy = job({ owner: null, teamId: 't1' });
    expect(await sees(alice, legacy)).toBe(false);
    expect(await sees(carol, legacy)).toBe(false);
    expect(await sees(svc, legacy)).toBe(true);
    expect(await sees(admin, legacy)).toBe(true);
  });

  it('schedules: the same rule, and agents see none', async () => {
    const s = { owner: { kind: 'user' as const, id: 'alice' }, teamId: 't1' };
    expect((await viewerFor(teams, carol)).schedule(s)).toBe(true);
    expect((await viewerFor(teams, bob)).schedule(s)).toBe(false);
    expect((await viewerFor(teams, worker)).schedule(s)).toBe(false);
  });
});

describe('sharing with a team', () => {
  it('needs membership for users; services and admins may name any team', async () => {
    await expect(assertMayShareWith(teams, alice, 't1')).resolves.toBeUndefined();
    await expect(assertMayShareWith(teams, alice, 't2')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(assertMayShareWith(teams, svc, 't2')).resolves.toBeUndefined();
    await expect(assertMayShareWith(teams, admin, 't2')).resolves.toBeUndefined();
    await expect(assertMayShareWith(teams, bob, undefined)).resolves.toBeUndefined();
  });
});

describe('aiming a job at a task', () => {
  const task = '8d3a0d1e-8a57-4a57-9b0e-6f6a3c1d2e4f';
  const answering = (answer: 'ok' | 'not_found' | 'forbidden') => {
    const asked: Principal[] = [];
    const access: TaskAccess = { mayChangeTask: async (p) => (asked.push(p), answer) };
    return { access, asked };
  };

  it('asks operations as the caller and refuses as operations answers', async () => {
    const ok = answering('ok');
    await expect(assertMayTarget(ok.access, bob, targetOf({ targetId: task }))).resolves.toBeUndefined();
    expect(ok.asked).toEqual([bob]);
    await expect(assertMayTarget(answering('not_found').access, bob, targetOf({ targetId: task }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(assertMayTarget(answering('forbidden').access, bob, targetOf({ targetId: task }))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('asks nothing for jobs without a task target, and refuses a task target that is not a task id', async () => {
    const none = answering('not_found');
    await expect(assertMayTarget(none.access, bob, targetOf({}))).resolves.toBeUndefined();
    await expect(assertMayTarget(none.access, bob, targetOf({ targetId: 'b1', targetKind: 'block' }))).resolves.toBeUndefined();
    await expect(assertMayTarget(none.access, bob, targetOf({ targetId: 'task-1' }))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(none.asked).toEqual([]);
  });
});
