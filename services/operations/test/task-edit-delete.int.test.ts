import { eventSchemas, type JobOwner } from '@platform/contracts';
import { createEnvelope, type ServiceServer } from '@platform/kit';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, issueLines, serveRouter } from '@platform/testkit';
import { onJobSucceeded } from '../src/domain/job-results.js';
import { createOperationsRouter } from '../src/router/index.js';
import { asUser } from '../src/store/scope.js';
import { deleteTask as deleteTaskRow } from '../src/store/tasks.js';
import { callerFor, codeOf, silentLog, testDeps, user } from './support/callers.js';
import { useScratchDb } from './support/scratch.js';

// Issue 15, item 4: tasks.edit, tasks.delete (with subtasks, by the owner, as events) and the
// conversations' message count, through the real router on a scratch database (RLS forced).
const s = useScratchDb('task_edit_delete');
const as = (id: string) => callerFor(testDeps(s), user(id));

let server: ServiceServer;
beforeAll(async () => {
  server = await serveRouter(createOperationsRouter(testDeps(s)), 'operations-task-edit');
});
afterAll(async () => {
  await server?.close();
});

/** Outbox rows about a task, oldest first, each envelope checked against its subject's contract schema. */
async function eventsOf(taskId: string, subject?: string) {
  const rows = (
    await s.admin.query(
      `SELECT subject, envelope FROM outbox WHERE envelope->'data'->>'taskId' = $1 AND ($2::text IS NULL OR subject = $2) ORDER BY seq`,
      [taskId, subject ?? null],
    )
  ).rows as Array<{ subject: keyof typeof eventSchemas; envelope: { data: unknown } }>;
  return rows.map((r) => ({ subject: r.subject, data: eventSchemas[r.subject].parse(r.envelope.data) as Record<string, unknown> }));
}
const countTasks = async (ids: string[]) =>
  Number((await s.admin.query(`SELECT count(*) AS n FROM tasks WHERE id = ANY($1::uuid[])`, [ids])).rows[0].n);

/** A team owned by `owner` with the others in it at the given roles. */
async function teamWith(owner: string, members: Record<string, 'admin' | 'member' | 'viewer'>) {
  for (const id of Object.keys(members)) await as(id).users.me({});
  const team = await as(owner).teams.create({ name: `team of ${owner} ${randomUUID().slice(0, 8)}` });
  for (const [userId, role] of Object.entries(members)) await as(owner).teams.invite({ teamId: team.id, userId, role });
  return team;
}

describe('tasks.edit', () => {
  it('changes only the given fields, announces them once through the outbox, and an edit that changes nothing writes nothing', async () => {
    const ann = as('ann');
    const task = await ann.tasks.create({ title: 'draft', description: 'first words', priority: 'P2', dueAt: '2027-01-10T09:00:00+01:00' });
    expect(task.dueAt).toBe('2027-01-10T08:00:00.000Z');

    const edited = await ann.tasks.edit({ id: task.id, title: 'final', priority: 'P0', dueAt: '2027-02-01T00:00:00Z', description: null });
    expect(edited).toMatchObject({ title: 'final', priority: 'P0', dueAt: '2027-02-01T00:00:00.000Z', description: null, status: 'todo' });
    expect(await ann.tasks.get({ id: task.id })).toMatchObject({
      title: 'final',
      priority: 'P0',
      dueAt: '2027-02-01T00:00:00.000Z',
      description: null,
    });
    const updates = await eventsOf(task.id, 'operations.task.updated');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.data).toMatchObject({
      taskId: task.id,
      change: 'details',
      changed: ['title', 'description', 'priority', 'dueAt'],
      priority: 'P0',
      dueAt: '2027-02-01T00:00:00.000Z',
    });

    // Same values again (the due date written another way): nothing changes, nothing is announced.
    const same = await ann.tasks.edit({ id: task.id, title: 'final', dueAt: '2027-02-01T01:00:00+01:00' });
    expect(same.updatedAt).toBe(edited.updatedAt);
    expect(await eventsOf(task.id, 'operations.task.updated')).toHaveLength(1);

    // Only the due date cleared: exactly that field is named.
    expect((await ann.tasks.edit({ id: task.id, dueAt: null })).dueAt).toBeNull();
    expect((await eventsOf(task.id, 'operations.task.updated')).map((e) => e.data['changed'])).toEqual([
      ['title', 'description', 'priority', 'dueAt'],
      ['dueAt'],
    ]);
  });

  it('refuses bad input as typed problems on /api and writes nothing', async () => {
    const task = await as('ivy').tasks.create({ title: 'keep me' });
    const post = (body: unknown) =>
      fetch(`${server.url}/api/tasks/edit`, { method: 'POST', headers: bearer('user:ivy'), body: JSON.stringify(body) });

    const bad = await expectProblem(await post({ id: task.id, title: '  ', priority: 'P9', dueAt: 'next tuesday' }), {
      status: 400,
      code: 'BAD_REQUEST',
      title: 'Bad Request',
      instance: '/api/tasks/edit',
    });
    expect(issueLines(bad)).toEqual(['dueAt: invalid_format', 'priority: invalid_value', 'title: too_small']);
    const empty = await expectProblem(await post({ id: task.id }), {
      status: 400,
      code: 'BAD_REQUEST',
      title: 'Bad Request',
      instance: '/api/tasks/edit',
    });
    expect(JSON.stringify(empty['issues'])).toContain('give at least one of title, description, priority, dueAt');
    await expectProblem(await post({ id: task.id, title: 'x', ownerId: 'mallory' }), {
      status: 400,
      code: 'BAD_REQUEST',
      title: 'Bad Request',
      instance: '/api/tasks/edit',
    });

    const missing = await expectProblem(await post({ id: randomUUID(), title: 'x' }), {
      status: 404,
      code: 'NOT_FOUND',
      title: 'Not Found',
      instance: '/api/tasks/edit',
    });
    expect(missing['detail']).toMatch(/task/);
    expect(await as('ivy').tasks.get({ id: task.id })).toMatchObject({ title: 'keep me', updatedAt: task.updatedAt });
    expect(await eventsOf(task.id, 'operations.task.updated')).toHaveLength(0);
  });

  it('follows the status rule: owner and team members edit; a viewer gets FORBIDDEN, anyone else NOT_FOUND', async () => {
    const team = await teamWith('olga', { mel: 'member', val: 'viewer' });
    await as('eve').users.me({});
    const task = await as('olga').tasks.create({ title: 'team plan', teamId: team.id });
    const personal = await as('olga').tasks.create({ title: 'olga only' });

    expect((await as('mel').tasks.edit({ id: task.id, priority: 'P1' })).priority).toBe('P1');
    expect(await codeOf(as('val').tasks.edit({ id: task.id, title: 'viewer was here' }))).toBe('FORBIDDEN');
    expect(await codeOf(as('eve').tasks.edit({ id: task.id, title: 'stranger was here' }))).toBe('NOT_FOUND');
    expect(await codeOf(as('mel').tasks.edit({ id: personal.id, title: 'not yours' }))).toBe('NOT_FOUND');
    expect((await as('olga').tasks.get({ id: task.id })).title).toBe('team plan');
    expect(await eventsOf(task.id, 'operations.task.updated')).toHaveLength(1);
  });
});

describe('tasks.delete', () => {
  it('deletes the task and its whole subtree in one go, one operations.task.deleted per task, deepest first; a second delete is NOT_FOUND', async () => {
    const bo = as('bo');
    const root = await bo.tasks.create({ title: 'release', subtasks: [{ title: 'build' }, { title: 'ship' }] });
    const grandchild = await bo.tasks.create({ title: 'sign artefacts' });
    await bo.tasks.move({ id: grandchild.id, parentId: root.subtasks[0]!.id });
    const bystander = await bo.tasks.create({ title: 'unrelated' });
    const all = [root.id, ...root.subtasks.map((t) => t.id), grandchild.id];

    const deleted = await bo.tasks.delete({ id: root.id });
    expect(deleted.id).toBe(root.id);
    expect(deleted.deletedTaskIds).toHaveLength(4);
    expect(deleted.deletedTaskIds[0]).toBe(grandchild.id); // deepest first …
    expect(deleted.deletedTaskIds.at(-1)).toBe(root.id); // … the task itself last
    expect([...deleted.deletedTaskIds].sort()).toEqual([...all].sort());
    expect(await countTasks(all)).toBe(0);
    expect(await countTasks([bystander.id])).toBe(1);

    const rows = (
      await s.admin.query(
        `SELECT envelope FROM outbox WHERE subject = 'operations.task.deleted' AND envelope->'data'->>'deletedWith' = $1 ORDER BY seq`,
        [root.id],
      )
    ).rows;
    const events = rows.map((r) => eventSchemas['operations.task.deleted'].parse(r.envelope.data));
    expect(events.map((e) => e.taskId)).toEqual(deleted.deletedTaskIds);
    expect(events.find((e) => e.taskId === grandchild.id)).toMatchObject({
      ownerId: 'bo',
      parentId: root.subtasks[0]!.id,
      deletedWith: root.id,
    });

    expect(await codeOf(bo.tasks.delete({ id: root.id }))).toBe('NOT_FOUND');
    expect(await codeOf(bo.tasks.get({ id: grandchild.id }))).toBe('NOT_FOUND');
    expect(
      (
        await s.admin.query(
          `SELECT count(*) AS n FROM outbox WHERE subject = 'operations.task.deleted' AND envelope->'data'->>'deletedWith' = $1`,
          [root.id],
        )
      ).rows[0].n,
    ).toBe('4');
  });

  it('is the owner’s alone: team members and admins get FORBIDDEN (as the row policy says too), strangers NOT_FOUND, and nothing is deleted', async () => {
    const team = await teamWith('tia', { max: 'member', ada: 'admin' });
    await as('eve').users.me({});
    const task = await as('tia').tasks.create({ title: 'team backlog', teamId: team.id, subtasks: [{ title: 'item' }] });
    const ids = [task.id, task.subtasks[0]!.id];

    expect(await codeOf(as('max').tasks.delete({ id: task.id }))).toBe('FORBIDDEN');
    expect(await codeOf(as('ada').tasks.delete({ id: task.id }))).toBe('FORBIDDEN');
    expect(await codeOf(as('eve').tasks.delete({ id: task.id }))).toBe('NOT_FOUND');
    // Below the service: the database's delete policy lets only the owner delete (a team admin's DELETE touches no row).
    expect(await asUser(s.db, user('ada'), (sc) => deleteTaskRow(sc, task.id), { write: true })).toBe(false);
    expect(await countTasks(ids)).toBe(2);
    expect(await eventsOf(task.id, 'operations.task.deleted')).toHaveLength(0);
  });

  it('refuses (CONFLICT) a tree holding a task someone else owns, even one the owner can no longer see, until it is moved out', async () => {
    const team = await teamWith('uma', { kai: 'member' });
    const uma = as('uma');
    const kai = as('kai');
    const plan = await uma.tasks.create({ title: 'quarter plan', teamId: team.id, subtasks: [{ title: 'uma part' }] });
    const kaiPart = await kai.tasks.create({ title: 'kai part', teamId: team.id });
    await kai.tasks.move({ id: kaiPart.id, parentId: plan.subtasks[0]!.id });

    const refused = await codeOf(uma.tasks.delete({ id: plan.id }));
    expect(refused).toBe('CONFLICT');
    expect(await countTasks([plan.id, plan.subtasks[0]!.id, kaiPart.id])).toBe(3);

    // Uma leaves the team: kai's task is now invisible to her, and still protected.
    await uma.teams.setRole({ teamId: team.id, userId: 'kai', role: 'owner' });
    await uma.teams.removeMember({ teamId: team.id, userId: 'uma' });
    expect(await codeOf(uma.tasks.get({ id: kaiPart.id }))).toBe('NOT_FOUND');
    expect(await codeOf(uma.tasks.delete({ id: plan.id }))).toBe('CONFLICT');
    expect(await countTasks([kaiPart.id])).toBe(1);

    // Once kai moves theirs out, uma's tree goes.
    await kai.tasks.move({ id: kaiPart.id, parentId: null });
    expect((await uma.tasks.delete({ id: plan.id })).deletedTaskIds).toHaveLength(2);
    expect(await countTasks([kaiPart.id])).toBe(1);
  });

  it('a job that succeeds for a deleted task changes nothing: the result is refused (NOT_FOUND) and acknowledged', async () => {
    const task = await as('joe').tasks.create({ title: 'to be built' });
    await as('joe').tasks.delete({ id: task.id });
    const owner: JobOwner = { kind: 'user', id: 'joe' };
    const deps = { ...testDeps(s), log: silentLog };
    const event = createEnvelope(
      'coordination',
      'coordination.job.succeeded',
      {
        jobId: randomUUID(),
        jobType: 'build',
        status: 'succeeded',
        targetKind: 'task',
        targetId: task.id,
        attempt: 1,
        agent: 'builder',
        result: { ok: true },
        owner,
      },
      deps,
    );
    expect(await onJobSucceeded(deps, event)).toBe('refused');
    expect(await onJobSucceeded(deps, event)).toBe('duplicate');
    expect(await countTasks([task.id])).toBe(0);
  });
});

describe('conversations report their message count', () => {
  it('in create, get, list and setStatus, correct after appends, per conversation', async () => {
    const cy = as('cy');
    const a = await cy.conversations.create({ title: 'a' });
    const b = await cy.conversations.create({ title: 'b' });
    expect(a.messageCount).toBe(0);
    for (const content of ['one', 'two', 'three']) await cy.messages.append({ conversationId: a.id, role: 'user', content });
    await cy.messages.append({ conversationId: b.id, role: 'assistant', content: 'only one' });

    expect((await cy.conversations.get({ id: a.id })).messageCount).toBe(3);
    expect((await cy.conversations.get({ id: b.id })).messageCount).toBe(1);
    const listed = (await cy.conversations.list({})).items.map((c) => [c.title, c.messageCount]);
    expect(listed).toEqual([
      ['b', 1],
      ['a', 3],
    ]);
    // Paged, each page still counts per conversation.
    const first = await cy.conversations.list({ limit: 1 });
    expect(first.items.map((c) => c.messageCount)).toEqual([1]);
    expect((await cy.conversations.list({ limit: 1, cursor: first.nextCursor! })).items.map((c) => c.messageCount)).toEqual([3]);
    expect((await cy.conversations.setStatus({ id: a.id, status: 'archived' })).messageCount).toBe(3);
    // Another user sees neither the conversation nor its count.
    expect(await codeOf(as('dee').conversations.get({ id: a.id }))).toBe('NOT_FOUND');
    expect((await as('dee').conversations.list({})).items).toEqual([]);
  });
});
