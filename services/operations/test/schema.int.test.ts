import { TaskPriority, TaskStatus } from '@platform/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callerFor, codeOf, testDeps, user } from './support/callers.js';
import { migratedScratchDb, type ScratchDb } from './support/scratch.js';

// The schema as migrated by prisma/migrations, on a scratch database: nested creates, enums,
// cascades, and the invariants hand-written SQL adds (triggers, generated columns, privileges).
let s: ScratchDb;
let setupError: unknown;

beforeAll(async () => {
  try {
    s = await migratedScratchDb('schema');
  } catch (e) {
    setupError = e; // re-thrown by every test: a failing beforeAll would only mark them skipped
  }
});
beforeEach(() => {
  if (setupError) throw setupError;
});
afterAll(async () => {
  await s?.drop();
});

const count = async (sql: string, params: unknown[] = []) =>
  Number((await s.admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0]!.n);

describe('operations schema', () => {
  it('creates a task with nested subtasks in one call, and a failing subtask leaves nothing behind', async () => {
    const alice = callerFor(testDeps(s), user('alice'));
    const task = await alice.tasks.create({
      title: 'ship it',
      priority: 'P1',
      subtasks: [{ title: 'one' }, { title: 'two', priority: 'P0' }],
    });
    expect(task.subtasks.map((t) => [t.title, t.priority, t.parentId, t.ownerId])).toEqual([
      ['one', 'P2', task.id, 'alice'],
      ['two', 'P0', task.id, 'alice'],
    ]);
    expect(await count(`tasks WHERE id = $1 OR parent_id = $1`, [task.id])).toBe(3);

    // Postgres refuses a NUL byte in text: the second subtask fails, so the parent and the first subtask must not exist either.
    const code = await codeOf(alice.tasks.create({ title: 'atomic parent', subtasks: [{ title: 'fine' }, { title: 'bad\u0000' }] }));
    expect(code).toBe('BAD_REQUEST');
    expect(await count(`tasks WHERE title IN ('atomic parent', 'fine')`)).toBe(0);
    expect(await count(`outbox WHERE envelope->'data'->>'ownerId' = 'alice'`)).toBe(3); // only the first tree's events
  });

  it('stores enums as Postgres enums that match the shared contracts and refuses other values', async () => {
    const labels = async (type: string) =>
      (
        await s.admin.query<{ l: string }>(`SELECT enumlabel AS l FROM pg_enum WHERE enumtypid = $1::regtype ORDER BY enumsortorder`, [
          `"${type}"`,
        ])
      ).rows.map((r) => r.l);
    expect(await labels('TaskStatus')).toEqual(TaskStatus.options);
    expect(await labels('TaskPriority')).toEqual(TaskPriority.options);
    expect(await labels('MessageRole')).toEqual(['user', 'assistant', 'system', 'tool']);
    await expect(s.admin.query(`INSERT INTO users (principal_id, role) VALUES ('enum-test', 'superuser')`)).rejects.toThrow(
      /invalid input value for enum "UserRole"/,
    );
  });

  it('cascades a user deletion to what they own; the memory audit log outlives the memory', async () => {
    const deps = testDeps(s);
    const carol = callerFor(deps, user('carol'));
    const session = await carol.sessions.create({ channel: 'cli', kind: 'planning' });
    const task = await carol.tasks.create({ title: 'carol task', sessionId: session.id, subtasks: [{ title: 'carol sub' }] });
    const conversation = await carol.conversations.create({ title: 'chat', sessionId: session.id });
    await carol.messages.append({ conversationId: conversation.id, role: 'user', content: 'hello there' });
    const memory = await carol.memories.create({ content: 'carol likes tea', type: 'semantic', tags: ['drinks'] });
    const team = await carol.teams.create({ name: 'carol team' });

    await s.admin.query(`DELETE FROM users WHERE principal_id = 'carol'`);

    expect(await count(`tasks WHERE owner_id = 'carol'`)).toBe(0);
    expect(await count(`tasks WHERE id = $1`, [task.subtasks[0]!.id])).toBe(0);
    expect(await count(`sessions WHERE id = $1`, [session.id])).toBe(0);
    expect(await count(`messages WHERE conversation_id = $1`, [conversation.id])).toBe(0);
    expect(await count(`memory_tags WHERE memory_id = $1`, [memory.id])).toBe(0);
    expect(await count(`team_memberships WHERE team_id = $1`, [team.id])).toBe(0);
    // The team stays (its creator reference is cleared); the audit log keeps the memory's history.
    expect((await s.admin.query(`SELECT created_by FROM teams WHERE id = $1`, [team.id])).rows).toEqual([{ created_by: null }]);
    expect(await count(`memory_logs WHERE memory_id = $1 AND change = 'created'`, [memory.id])).toBe(1);
  });

  it('a deleted session detaches its tasks (SET NULL) instead of deleting them', async () => {
    const dave = callerFor(testDeps(s), user('dave'));
    const session = await dave.sessions.create({ channel: 'web' });
    const task = await dave.tasks.create({ title: 'outlives its session', sessionId: session.id });
    await s.admin.query(`DELETE FROM sessions WHERE id = $1`, [session.id]);
    expect((await dave.tasks.get({ id: task.id })).sessionId).toBeNull();
  });

  it('maintains updated_at in the database, also for writes outside Prisma', async () => {
    const erin = callerFor(testDeps(s), user('erin'));
    const task = await erin.tasks.create({ title: 'timestamps' });
    await new Promise((r) => setTimeout(r, 20));
    await s.admin.query(`UPDATE tasks SET title = 'renamed' WHERE id = $1`, [task.id]);
    const after = await erin.tasks.get({ id: task.id });
    expect(new Date(after.updatedAt).getTime()).toBeGreaterThan(new Date(task.updatedAt).getTime());
  });

  it('keeps generated tsvector columns with GIN indexes for memories and messages', async () => {
    const frank = callerFor(testDeps(s), user('frank'));
    await frank.memories.create({ content: 'The deployment pipeline uses blue green releases', type: 'procedural' });
    await frank.memories.create({ content: 'Lunch is at noon', type: 'episodic' });
    const hits = await frank.memories.search({ query: 'deploying releases' }); // english stemming: deploying ~ deployment, releases ~ release
    expect(hits.map((h) => h.content)).toEqual(['The deployment pipeline uses blue green releases']);

    const c = await frank.conversations.create({});
    await frank.messages.append({ conversationId: c.id, role: 'user', content: 'How do we roll back a release?' });
    await frank.messages.append({ conversationId: c.id, role: 'assistant', content: 'Switch traffic to the green environment.' });
    expect((await frank.messages.search({ query: 'traffic switching' })).map((m) => m.role)).toEqual(['assistant']);

    const generated = await s.admin.query<{ table_name: string; is_generated: string }>(
      `SELECT table_name, is_generated FROM information_schema.columns WHERE column_name = 'search_vector' ORDER BY table_name`,
    );
    expect(generated.rows).toEqual([
      { table_name: 'memories', is_generated: 'ALWAYS' },
      { table_name: 'messages', is_generated: 'ALWAYS' },
    ]);
    const gin = await s.admin.query(
      `SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gin (search_vector)%' ORDER BY indexname`,
    );
    expect(gin.rows.map((r) => r.indexname)).toEqual(['memories_search_vector_idx', 'messages_search_vector_idx']);
  });

  it('refuses a memory with two owners or none, or an importance outside 0..1', async () => {
    await s.admin.query(`INSERT INTO users (principal_id) VALUES ('gina') ON CONFLICT DO NOTHING`);
    const agent = (await s.admin.query<{ id: string }>(`INSERT INTO agents (name, config) VALUES ('gina-bot', '{}') RETURNING id`)).rows[0]!
      .id;
    await expect(s.admin.query(`INSERT INTO memories (type, source, content) VALUES ('semantic', 'user', 'x')`)).rejects.toThrow(
      /exactly one of a user or an agent/,
    );
    await expect(
      s.admin.query(`INSERT INTO memories (owner_user_id, agent_id, type, source, content) VALUES ('gina', $1, 'semantic', 'user', 'x')`, [
        agent,
      ]),
    ).rejects.toThrow(/exactly one/);
    await expect(
      s.admin.query(
        `INSERT INTO memories (owner_user_id, type, source, content, importance) VALUES ('gina', 'semantic', 'user', 'x', 1.5)`,
      ),
    ).rejects.toThrow(/outside 0..1/);
  });

  it('keeps task trees acyclic, also when two moves would only form a cycle together', async () => {
    const hank = callerFor(testDeps(s), user('hank'));
    const a = await hank.tasks.create({ title: 'A', subtasks: [{ title: 'A1' }] });
    const b = await hank.tasks.create({ title: 'B' });
    expect(await codeOf(hank.tasks.move({ id: a.id, parentId: a.subtasks[0]!.id }))).toBe('BAD_REQUEST');
    expect(await codeOf(hank.tasks.move({ id: a.id, parentId: a.id }))).toBe('BAD_REQUEST');

    // A under B and B under A at the same time: the advisory lock in the trigger serializes them.
    const results = await Promise.allSettled([
      hank.tasks.move({ id: a.id, parentId: b.id }),
      hank.tasks.move({ id: b.id, parentId: a.id }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const parents = await s.admin.query<{ id: string; parent_id: string | null }>(
      `SELECT id, parent_id FROM tasks WHERE id = ANY($1::uuid[])`,
      [[a.id, b.id]],
    );
    expect(parents.rows.filter((r) => r.parent_id !== null)).toHaveLength(1);
  });

  it('lets the service role only append to the event store and the memory log', async () => {
    const app = new (await import('pg')).default.Client({ connectionString: s.appUrl });
    await app.connect();
    try {
      await expect(app.query(`UPDATE event_store SET data = '{}'`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`DELETE FROM memory_logs`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`UPDATE users SET role = 'admin'`)).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }
  });
});
