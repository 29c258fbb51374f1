import { describe, expect, it } from 'vitest';
import { callerFor, codeOf, service, testDeps, user } from './support/callers.js';
import { useScratchDb } from './support/scratch.js';

// The tRPC API through createCaller (zod validation, domain rules, error mapping) on a scratch database.
const s = useScratchDb('api');

const as = (id: string, roles: string[] = []) => callerFor(testDeps(s), user(id, roles));
const zodPaths = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    const cause = (err as { cause?: { issues?: Array<{ path: PropertyKey[] }> } }).cause;
    return { code: (err as { code?: string }).code, paths: (cause?.issues ?? []).map((i) => i.path.join('.')).sort() };
  }
  throw new Error('expected a failure');
};

describe('operations API', () => {
  it('refuses anonymous callers and bad input (BAD_REQUEST with the zod issues), writing nothing', async () => {
    expect(await codeOf(callerFor(testDeps(s), null).tasks.list({}))).toBe('UNAUTHORIZED');
    const bad = await zodPaths(as('ivy').tasks.create({ title: '', priority: 'P7', subtasks: [{}] } as never));
    expect(bad).toEqual({ code: 'BAD_REQUEST', paths: ['priority', 'subtasks.0.title', 'title'] });
    expect((await zodPaths(as('ivy').memories.create({ content: 'x', type: 'semantic', importance: 2 }))).paths).toEqual(['importance']);
    expect(Number((await s.admin.query(`SELECT count(*) AS n FROM users WHERE principal_id = 'ivy'`)).rows[0].n)).toBe(0);
  });

  it('users: registers a profile once; a taken email is a CONFLICT', async () => {
    const ann = as('ann');
    expect(await ann.users.me({})).toMatchObject({ principalId: 'ann', email: null, role: 'member' });
    expect(await ann.users.create({ email: 'Ann@Example.org', name: 'Ann' })).toMatchObject({ email: 'ann@example.org', name: 'Ann' });
    expect(await codeOf(ann.users.create({ email: 'ann2@example.org', name: 'Ann' }))).toBe('CONFLICT');
    expect(await codeOf(as('ben').users.create({ email: 'ann@example.org', name: 'Ben' }))).toBe('CONFLICT');
    expect((await as('root', ['admin']).users.me({})).role).toBe('admin');
  });

  it('tasks: status transitions, listing by filters with a cursor, moves', async () => {
    const cat = as('cat');
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await cat.tasks.create({ title: `t${i}`, priority: i % 2 ? 'P1' : 'P3' }));
    expect((await cat.tasks.updateStatus({ id: made[0]!.id, status: 'todo' })).updatedAt).toBe(made[0]!.updatedAt); // same status: no-op
    await cat.tasks.updateStatus({ id: made[0]!.id, status: 'cancelled' });
    expect(await codeOf(cat.tasks.updateStatus({ id: made[0]!.id, status: 'done' }))).toBe('CONFLICT');
    const reopened = await cat.tasks.updateStatus({ id: made[0]!.id, status: 'todo' });
    expect(reopened.status).toBe('todo');
    const done = await cat.tasks.updateStatus({ id: made[1]!.id, status: 'done' });
    expect(done.completedAt).not.toBeNull();
    expect((await cat.tasks.updateStatus({ id: made[1]!.id, status: 'in_progress' })).completedAt).toBeNull();
    const subjects = (
      await s.admin.query(`SELECT subject FROM outbox WHERE envelope->'data'->>'taskId' = $1 ORDER BY seq`, [made[1]!.id])
    ).rows.map((r) => r.subject);
    expect(subjects).toEqual([
      'operations.task.created',
      'operations.task.updated',
      'operations.task.completed',
      'operations.task.updated',
    ]);

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await cat.tasks.list({ priority: 'P3', limit: 2, ...(cursor ? { cursor } : {}) });
      pages.push(page.items.map((t) => t.title));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages).toEqual([
      ['t6', 't4'],
      ['t2', 't0'],
    ]);
    expect((await cat.tasks.list({ ownerId: 'cat', status: 'in_progress' })).items.map((t) => t.title)).toEqual(['t1']);
    expect(await codeOf(cat.tasks.list({ cursor: 'garbage' }))).toBe('BAD_REQUEST');

    const tree = await cat.tasks.create({ title: 'ordered', subtasks: ['a', 'b', 'c', 'd', 'e'].map((title) => ({ title })) });
    expect(tree.subtasks.map((t) => t.title)).toEqual(['a', 'b', 'c', 'd', 'e']); // the order given, not the (equal) creation times
    await cat.tasks.move({ id: made[4]!.id, parentId: tree.id });
    expect((await cat.tasks.get({ id: tree.id })).subtasks.map((t) => t.title)).toEqual(['a', 'b', 'c', 'd', 'e', 't4']); // a moved task goes last
    const moved = await cat.tasks.move({ id: made[2]!.id, parentId: made[3]!.id });
    expect(moved.parentId).toBe(made[3]!.id);
    expect((await cat.tasks.get({ id: made[3]!.id })).subtasks.map((t) => t.title)).toEqual(['t2']);
    expect((await cat.tasks.list({ parentId: 'root', limit: 200 })).items.map((t) => t.title)).not.toContain('t2');
    expect((await cat.tasks.move({ id: made[2]!.id, parentId: null })).parentId).toBeNull();
  });

  it('conversations and messages: append to active ones only, list in order, search', async () => {
    const dan = as('dan');
    const session = await dan.sessions.create({ channel: 'slack', kind: 'review', title: 'retro' });
    const c = await dan.conversations.create({ title: 'retro notes', sessionId: session.id });
    const m1 = await dan.messages.append({ conversationId: c.id, role: 'user', content: 'What went wrong with the database migration?' });
    expect(m1.tokenCount).toBe(Math.ceil(m1.content.length / 4));
    await dan.messages.append({
      conversationId: c.id,
      role: 'assistant',
      content: 'The index was created without CONCURRENTLY.',
      tokenCount: 11,
    });
    await dan.messages.append({ conversationId: c.id, role: 'tool', content: '{"rows": 3}' });
    const page1 = await dan.messages.list({ conversationId: c.id, limit: 2 });
    const page2 = await dan.messages.list({ conversationId: c.id, limit: 2, cursor: page1.nextCursor! });
    expect([...page1.items, ...page2.items].map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect((await dan.messages.search({ query: 'migrations or index' })).map((m) => m.role).sort()).toEqual(['assistant', 'user']);

    await dan.conversations.setStatus({ id: c.id, status: 'archived' });
    expect(await codeOf(dan.messages.append({ conversationId: c.id, role: 'user', content: 'late' }))).toBe('CONFLICT');
    await dan.conversations.setStatus({ id: c.id, status: 'closed' });
    expect(await codeOf(dan.conversations.setStatus({ id: c.id, status: 'active' }))).toBe('CONFLICT');
    expect((await dan.conversations.list({ status: 'closed' })).items.map((x) => x.id)).toEqual([c.id]);
    expect((await dan.sessions.end({ id: session.id })).endedAt).not.toBeNull();
    expect(await codeOf(dan.sessions.end({ id: session.id }))).toBe('CONFLICT');
  });

  it('agents: validated configuration, managed by platform admins, readable by all', async () => {
    const root = as('root', ['admin']);
    await root.users.me({});
    const agent = await root.agents.create({ name: 'build-bot', config: { model: 'small-1', tools: ['git'] }, description: 'builds' });
    expect(agent.config).toEqual({ model: 'small-1', temperature: 0.2, maxTokens: 4096, tools: ['git'], jobTypes: [] });
    expect(await codeOf(root.agents.create({ name: 'build-bot', config: { model: 'x' } }))).toBe('CONFLICT');
    expect(
      (await zodPaths(root.agents.create({ name: 'bad-bot', config: { model: 'x', temperature: 9, colour: 'red' } as never }))).paths,
    ).toEqual(['config', 'config.temperature']);
    expect(await codeOf(as('eve').agents.create({ name: 'eve-bot', config: { model: 'x' } }))).toBe('FORBIDDEN');
    expect((await as('eve').agents.get({ name: 'build-bot' })).id).toBe(agent.id);
    expect((await root.agents.update({ id: agent.id, status: 'paused' })).status).toBe('paused');
  });

  it('memories: update and tag with a MemoryLog entry in the same transaction; list, search, expire', async () => {
    const fay = as('fay');
    const m = await fay.memories.create({
      content: 'Fay prefers dark roast coffee',
      type: 'semantic',
      tier: 'core',
      tags: ['coffee'],
      metadata: { from: 'chat' },
    });
    expect(m).toMatchObject({ version: 1, tags: ['coffee'], ownerUserId: 'fay', agentId: null });
    const u = await fay.memories.update({ id: m.id, expectedVersion: 1, content: 'Fay prefers light roast coffee', importance: 0.9 });
    expect(u.version).toBe(2);
    expect(await codeOf(fay.memories.update({ id: m.id, expectedVersion: 1, importance: 0.1 }))).toBe('CONFLICT');
    const t = await fay.memories.tag({ id: m.id, add: ['Drinks', 'morning'], remove: ['coffee'] });
    expect(t).toMatchObject({ version: 3, tags: ['drinks', 'morning'] });
    const history = await fay.memories.history({ id: m.id });
    expect(history.map((h) => h.change)).toEqual(['created', 'updated', 'tagged']);
    expect(history[1]).toMatchObject({
      actor: 'fay',
      before: { content: 'Fay prefers dark roast coffee', importance: 0.5, version: 1 },
      after: { content: 'Fay prefers light roast coffee', importance: 0.9, version: 2 },
    });

    expect((await fay.memories.get({ id: m.id })).accessCount).toBe(1);
    expect((await fay.memories.search({ query: 'roast' })).map((x) => x.id)).toEqual([m.id]);
    expect((await fay.memories.list({ tier: 'core', type: 'semantic' })).items.map((x) => x.id)).toEqual([m.id]);
    expect((await fay.memories.list({ tag: 'morning' })).items).toHaveLength(1);

    const due = await fay.memories.create({
      content: 'Standup moved to 10:00 this week',
      type: 'episodic',
      expiresAt: new Date(Date.now() - 1_000).toISOString(),
    });
    const expired = await fay.memories.expire({});
    expect(expired.expired.map((x) => [x.id, x.status])).toEqual([[due.id, 'expired']]);
    expect((await fay.memories.expire({})).expired).toEqual([]);
    expect((await fay.memories.search({ query: 'standup' })).map((x) => x.id)).toEqual([]); // inactive by default
    expect((await fay.memories.search({ query: 'standup', includeInactive: 'true' })).map((x) => x.id)).toEqual([due.id]);
    const outbox = (
      await s.admin.query(`SELECT subject FROM outbox WHERE envelope->'data'->>'memoryId' = $1 ORDER BY seq`, [m.id])
    ).rows.map((r) => r.subject);
    expect(outbox).toEqual(['operations.memory.created', 'operations.memory.updated', 'operations.memory.updated']);
  });

  it('memories of an agent: written by the agent itself or a platform admin', async () => {
    const root = as('root', ['admin']);
    const agent = await root.agents.create({ name: 'memo-bot', config: { model: 'x' } });
    const bot = callerFor(testDeps(s), { kind: 'agent', id: 'memo-bot', roles: [] });
    const mine = await bot.memories.create({
      content: 'The build cache lives on node 3',
      type: 'procedural',
      source: 'agent',
      agentId: agent.id,
    });
    expect(mine.agentId).toBe(agent.id);
    expect(await codeOf(as('gus').memories.create({ content: 'x', type: 'semantic', agentId: agent.id }))).toBe('FORBIDDEN');
    expect(await codeOf(as('gus').memories.get({ id: mine.id }))).toBe('NOT_FOUND');
    expect((await root.memories.get({ id: mine.id })).content).toMatch(/build cache/);
  });

  it('events API: services and admins only; CONFLICT carries the actual version', async () => {
    const svc = callerFor(testDeps(s), service('coordination'));
    const r = await svc.events.append({
      aggregateId: 'order-1',
      aggregateType: 'Order',
      expectedVersion: 'no_stream',
      events: [{ type: 'Placed', data: { total: 3 } }],
    });
    expect(r).toMatchObject({ nextExpectedVersion: 1, duplicate: false });
    try {
      await svc.events.append({
        aggregateId: 'order-1',
        aggregateType: 'Order',
        expectedVersion: 0,
        events: [{ type: 'Placed', data: {} }],
      });
      throw new Error('expected a conflict');
    } catch (err) {
      expect(err).toMatchObject({ code: 'CONFLICT' });
      expect((err as { cause: { details: unknown } }).cause.details).toEqual({
        aggregateId: 'order-1',
        expectedVersion: 0,
        actualVersion: 1,
      });
    }
    const stream = await svc.events.readStream({ aggregateId: 'order-1' });
    expect(stream.map((e) => [e.eventType, e.version, e.metadata['appendedBy']])).toEqual([['Placed', 1, 'coordination']]);
    const all = await svc.events.readAll({ fromPosition: 0, limit: 10 });
    expect(all.events.map((e) => e.aggregateId)).toContain('order-1');
    expect(await codeOf(as('hal').events.readAll({}))).toBe('FORBIDDEN');
  });
});
