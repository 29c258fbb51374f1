import type { JobOwner } from '@platform/contracts';
import { createEnvelope } from '@platform/kit';
import { describe, expect, it } from 'vitest';
import { onJobSucceeded } from '../src/domain/job-results.js';
import { callerFor, silentLog, testDeps, user } from './support/callers.js';
import { useScratchDb } from './support/scratch.js';

// The job-result consumer applies a job's result AS THE JOB'S OWNER (issue 12, item 4): under
// row-level security and the normal task rules, never as a system actor that may touch any task.
const s = useScratchDb('job_results');

const deps = () => ({ ...testDeps(s), log: silentLog });
const as = (id: string) => callerFor(testDeps(s), user(id));

/** `coordination.job.succeeded` for a job on `taskId` owned by `owner` (absent: an event from before owners). */
const succeeded = (taskId: string, owner?: JobOwner) =>
  createEnvelope(
    'coordination',
    'coordination.job.succeeded',
    {
      jobId: crypto.randomUUID(),
      jobType: 'build',
      status: 'succeeded',
      targetKind: 'task',
      targetId: taskId,
      attempt: 1,
      agent: 'builder',
      result: { ok: true },
      ...(owner ? { owner } : {}),
    },
    deps(),
  );
const owner = (id: string): JobOwner => ({ kind: 'user', id });

/** The task as its owner sees it, and how many outbox rows mention it. */
async function state(ownerId: string, taskId: string) {
  const task = await as(ownerId).tasks.get({ id: taskId });
  const outbox = Number((await s.admin.query(`SELECT count(*) AS n FROM outbox WHERE envelope::text LIKE $1`, [`%${taskId}%`])).rows[0].n);
  return { status: task.status, completedAt: task.completedAt, outbox };
}

describe('a job result is applied as the job owner', () => {
  it("leaves the task unchanged when the job's owner cannot see it (another user's task), and does not retry it", async () => {
    const task = await as('alice').tasks.create({ title: 'alice builds' });
    await as('mallory').users.me({});
    const before = await state('alice', task.id);
    const event = succeeded(task.id, owner('mallory'));
    expect(await onJobSucceeded(deps(), event)).toBe('refused');
    expect(await state('alice', task.id)).toEqual(before);
    expect(before.status).toBe('todo');
    // The refusal is final: the redelivered event is a duplicate, still nothing applied.
    expect(await onJobSucceeded(deps(), event)).toBe('duplicate');
    expect((await state('alice', task.id)).status).toBe('todo');
  });

  it('leaves it unchanged when the owner only views it (team viewer), or has left the team since', async () => {
    const team = await as('alice').teams.create({ name: 'job results team' });
    await as('vic').users.me({});
    await as('mia').users.me({});
    await as('alice').teams.invite({ teamId: team.id, userId: 'vic', role: 'viewer' });
    await as('alice').teams.invite({ teamId: team.id, userId: 'mia', role: 'member' });
    const task = await as('alice').tasks.create({ title: 'team build', teamId: team.id });

    expect(await onJobSucceeded(deps(), succeeded(task.id, owner('vic')))).toBe('refused');
    expect((await state('alice', task.id)).status).toBe('todo');

    // mia triggered the job as a member, then left the team before it finished
    const late = succeeded(task.id, owner('mia'));
    await as('mia').teams.removeMember({ teamId: team.id, userId: 'mia' });
    expect(await onJobSucceeded(deps(), late)).toBe('refused');
    expect((await state('alice', task.id)).status).toBe('todo');
  });

  it('does not apply an event without an owner (written before jobs had owners)', async () => {
    const task = await as('alice').tasks.create({ title: 'legacy job' });
    expect(await onJobSucceeded(deps(), succeeded(task.id))).toBe('refused');
    expect((await state('alice', task.id)).status).toBe('todo');
  });

  it('follows the normal transitions: a blocked task does not become done', async () => {
    const task = await as('alice').tasks.create({ title: 'blocked build' });
    await as('alice').tasks.updateStatus({ id: task.id, status: 'blocked' });
    expect(await onJobSucceeded(deps(), succeeded(task.id, owner('alice')))).toBe('refused');
    expect((await state('alice', task.id)).status).toBe('blocked');
  });

  it('marks the task done, with its events, when the owner (or a team member) may change it', async () => {
    const mine = await as('alice').tasks.create({ title: 'alice build ok' });
    const before = await state('alice', mine.id);
    const event = succeeded(mine.id, owner('alice'));
    expect(await onJobSucceeded(deps(), event)).toBe('applied');
    const after = await state('alice', mine.id);
    expect(after.status).toBe('done');
    expect(after.completedAt).not.toBeNull();
    expect(after.outbox).toBe(before.outbox + 2); // operations.task.updated + operations.task.completed
    expect(await onJobSucceeded(deps(), event)).toBe('duplicate');
    expect(await onJobSucceeded(deps(), succeeded(mine.id, owner('alice')))).toBe('ignored'); // already done

    const team = await as('alice').teams.create({ name: 'job results team 2' });
    await as('ned').users.me({});
    await as('alice').teams.invite({ teamId: team.id, userId: 'ned', role: 'member' });
    const shared = await as('alice').tasks.create({ title: 'team build ok', teamId: team.id });
    expect(await onJobSucceeded(deps(), succeeded(shared.id, owner('ned')))).toBe('applied');
    expect((await state('alice', shared.id)).status).toBe('done');
  });
});
