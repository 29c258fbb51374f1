import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { callerFor, codeOf, fakeKnowledge, testDeps, user } from './support/callers.js';
import { useScratchDb } from './support/scratch.js';

// Two users and one team: what the repositories allow, and what row-level security enforces
// underneath when a query carries no principal at all.
const s = useScratchDb('isolation');

const BLOCK = '0b8c6c1e-6a43-4c49-8d7c-4c1f0a1f2b3c';
const deps = () => testDeps(s, { knowledge: fakeKnowledge([BLOCK]) });

describe('isolation between users and teams', () => {
  it("never shows or changes another user's personal rows", async () => {
    const alice = callerFor(deps(), user('alice'));
    const bob = callerFor(deps(), user('bob'));
    const task = await alice.tasks.create({ title: 'alice private' });
    const session = await alice.sessions.create({ channel: 'web' });
    const conversation = await alice.conversations.create({ title: 'private chat' });
    await alice.messages.append({ conversationId: conversation.id, role: 'user', content: 'secret recipe for pancakes' });
    const memory = await alice.memories.create({ content: 'alice secret pancake recipe', type: 'semantic' });

    expect(await codeOf(bob.tasks.get({ id: task.id }))).toBe('NOT_FOUND');
    expect(await codeOf(bob.tasks.updateStatus({ id: task.id, status: 'in_progress' }))).toBe('NOT_FOUND');
    expect(await codeOf(bob.sessions.get({ id: session.id }))).toBe('NOT_FOUND');
    expect(await codeOf(bob.conversations.get({ id: conversation.id }))).toBe('NOT_FOUND');
    expect(await codeOf(bob.messages.append({ conversationId: conversation.id, role: 'user', content: 'hi' }))).toBe('NOT_FOUND');
    expect(await codeOf(bob.memories.get({ id: memory.id }))).toBe('NOT_FOUND');
    expect(await codeOf(bob.memories.update({ id: memory.id, content: 'mine now' }))).toBe('NOT_FOUND');
    expect((await bob.tasks.list({})).items).toEqual([]);
    expect(await bob.memories.search({ query: 'pancake' })).toEqual([]);
    expect(await bob.messages.search({ query: 'pancakes' })).toEqual([]);
    // Bob cannot attach his task to Alice's session either (the FK alone would allow it).
    expect(await codeOf(bob.tasks.create({ title: 'hijack', sessionId: session.id }))).toBe('NOT_FOUND');
    expect((await alice.memories.get({ id: memory.id })).content).toBe('alice secret pancake recipe');
  });

  it('grants team members what their role allows', async () => {
    const alice = callerFor(deps(), user('alice'));
    const bob = callerFor(deps(), user('bob'));
    await bob.users.me({}); // bob has used the platform: he can be invited
    const team = await alice.teams.create({ name: 'platform team' });
    expect(team.members).toMatchObject([{ userId: 'alice', role: 'owner' }]);
    const teamTask = await alice.tasks.create({ title: 'team work', teamId: team.id, subtasks: [{ title: 'team sub' }] });
    const personal = await alice.tasks.create({ title: 'alice only' });

    // Not a member yet: nothing of the team is visible.
    expect(await codeOf(bob.teams.get({ id: team.id }))).toBe('NOT_FOUND');
    expect(await codeOf(bob.tasks.get({ id: teamTask.id }))).toBe('NOT_FOUND');

    await alice.teams.invite({ teamId: team.id, userId: 'bob', role: 'viewer' });
    expect(await codeOf(alice.teams.invite({ teamId: team.id, userId: 'bob', role: 'member' }))).toBe('CONFLICT');
    expect(await codeOf(alice.teams.invite({ teamId: team.id, userId: 'nobody-ever', role: 'member' }))).toBe('NOT_FOUND');

    // Viewer: reads the team's tasks, changes nothing, invites nobody; still no personal rows.
    expect((await bob.tasks.get({ id: teamTask.id })).subtasks).toHaveLength(1);
    expect((await bob.tasks.list({ teamId: team.id })).items.map((t) => t.title).sort()).toEqual(['team sub', 'team work']);
    expect(await codeOf(bob.tasks.get({ id: personal.id }))).toBe('NOT_FOUND');
    expect(await codeOf(bob.tasks.updateStatus({ id: teamTask.id, status: 'in_progress' }))).toBe('FORBIDDEN');
    expect(await codeOf(bob.tasks.create({ title: 'viewer adds', teamId: team.id }))).toBe('FORBIDDEN');
    expect(await codeOf(bob.teams.invite({ teamId: team.id, userId: 'alice', role: 'viewer' }))).toBe('FORBIDDEN');

    // Member: may change the team's tasks.
    await alice.teams.setRole({ teamId: team.id, userId: 'bob', role: 'member' });
    expect((await bob.tasks.updateStatus({ id: teamTask.id, status: 'in_progress' })).status).toBe('in_progress');
    expect((await bob.tasks.updateStatus({ id: teamTask.id, status: 'done' })).completedAt).not.toBeNull();
    expect(await codeOf(bob.tasks.updateStatus({ id: teamTask.id, status: 'blocked' }))).toBe('CONFLICT'); // done → blocked is not a transition

    // Admin: may invite members but not make owners, and cannot demote the owner.
    await alice.teams.setRole({ teamId: team.id, userId: 'bob', role: 'admin' });
    expect(await codeOf(bob.teams.setRole({ teamId: team.id, userId: 'alice', role: 'member' }))).toBe('FORBIDDEN');
    // The last owner cannot step down.
    expect(await codeOf(alice.teams.setRole({ teamId: team.id, userId: 'alice', role: 'admin' }))).toBe('CONFLICT');
    expect(await codeOf(alice.teams.removeMember({ teamId: team.id, userId: 'alice' }))).toBe('CONFLICT');
    // Leaving the team ends access.
    await bob.teams.removeMember({ teamId: team.id, userId: 'bob' });
    expect(await codeOf(bob.tasks.get({ id: teamTask.id }))).toBe('NOT_FOUND');
  });

  it('lets only a permitted role decide an approval, once, and never the requester', async () => {
    const alice = callerFor(deps(), user('alice'));
    const bob = callerFor(deps(), user('bob'));
    const root = callerFor(deps(), user('root', ['admin']));
    await root.users.me({});
    const team = await alice.teams.create({ name: 'approvers' });
    await alice.teams.invite({ teamId: team.id, userId: 'bob', role: 'member' });

    const request = await bob.approvals.request({
      subjectKind: 'knowledge_block',
      subjectId: BLOCK,
      teamId: team.id,
      reason: 'promote the proposal',
    });
    expect(request.status).toBe('pending');
    expect(await codeOf(bob.approvals.request({ subjectKind: 'knowledge_block', subjectId: crypto.randomUUID() }))).toBe('BAD_REQUEST'); // unknown block
    expect(await codeOf(alice.approvals.request({ subjectKind: 'knowledge_block', subjectId: BLOCK, teamId: team.id }))).toBe('CONFLICT'); // one pending per subject

    expect(await codeOf(bob.approvals.decide({ id: request.id, decision: 'approved' }))).toBe('FORBIDDEN'); // member, and requester
    const decided = await alice.approvals.decide({ id: request.id, decision: 'approved', note: 'ok' });
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'alice', decisionNote: 'ok' });
    expect(await codeOf(alice.approvals.decide({ id: request.id, decision: 'rejected' }))).toBe('CONFLICT');
    expect(await codeOf(root.approvals.decide({ id: request.id, decision: 'rejected' }))).toBe('CONFLICT');

    // Without a team only platform admins decide; two deciders racing: exactly one wins.
    const solo = await bob.approvals.request({ subjectKind: 'other', subjectId: 'budget-2027' });
    expect(await codeOf(alice.approvals.decide({ id: solo.id, decision: 'approved' }))).toBe('NOT_FOUND'); // not even visible to her
    const root2 = callerFor(deps(), user('root2', ['admin']));
    await root2.users.me({});
    const race = await Promise.allSettled([
      root.approvals.decide({ id: solo.id, decision: 'approved' }),
      root2.approvals.decide({ id: solo.id, decision: 'rejected' }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      (
        await s.admin.query(
          `SELECT count(*)::int AS n FROM outbox WHERE subject = 'operations.approval.decided' AND envelope->'data'->>'approvalId' = $1`,
          [solo.id],
        )
      ).rows[0].n,
    ).toBe(1);
  });

  it('row-level security: the service role without a principal sees nothing and writes nothing', async () => {
    const alice = callerFor(deps(), user('alice'));
    await alice.tasks.create({ title: 'rls probe' });
    await alice.memories.create({ content: 'rls probe memory', type: 'episodic' });
    const owner = Number((await s.admin.query(`SELECT count(*) AS n FROM tasks`)).rows[0].n);
    expect(owner).toBeGreaterThan(0);

    const app = new pg.Client({ connectionString: s.appUrl }); // operations_app: not the owner, no BYPASSRLS
    await app.connect();
    try {
      const role = (await app.query(`SELECT current_user AS u, rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user`)).rows[0];
      expect(role).toEqual({ u: 'operations_app', bypass: false });
      for (const table of [
        'users',
        'teams',
        'team_memberships',
        'sessions',
        'tasks',
        'approval_requests',
        'conversations',
        'messages',
        'memories',
        'memory_tags',
        'memory_logs',
        'saga_instances',
        'agents',
      ]) {
        expect((await app.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, table).toBe(0);
      }
      await expect(app.query(`INSERT INTO tasks (title, owner_id) VALUES ('forged', 'alice')`)).rejects.toThrow(/row-level security/);
      await expect(
        app.query(`INSERT INTO memories (owner_user_id, type, source, content) VALUES ('alice', 'semantic', 'user', 'forged')`),
      ).rejects.toThrow(/row-level security/);
      expect((await app.query(`UPDATE tasks SET title = 'defaced'`)).rowCount).toBe(0);
      expect((await app.query(`DELETE FROM tasks`)).rowCount).toBe(0);

      // With a principal, exactly that principal's rows; SET LOCAL semantics end with the transaction.
      await app.query('BEGIN');
      await app.query(`SELECT app_act_as_user('bob', NULL)`);
      const bobSees = (await app.query(`SELECT count(*)::int AS n FROM tasks WHERE owner_id = 'alice' AND team_id IS NULL`)).rows[0].n;
      await app.query('COMMIT');
      expect(bobSees).toBe(0);
      await app.query('BEGIN');
      await app.query(`SELECT app_act_as_user('alice', NULL)`);
      const aliceSees = (await app.query(`SELECT count(*)::int AS n FROM tasks WHERE title = 'rls probe'`)).rows[0].n;
      await app.query('COMMIT');
      expect(aliceSees).toBe(1);
      expect((await app.query(`SELECT count(*)::int AS n FROM tasks`)).rows[0].n).toBe(0);
      await expect(app.query(`SELECT app_act_as_system('root')`)).rejects.toThrow(/unknown system actor/);
    } finally {
      await app.end();
    }
  });

  it('system actors get only their own narrow rights', async () => {
    const app = new pg.Client({ connectionString: s.appUrl });
    await app.connect();
    try {
      await app.query('BEGIN');
      await app.query(`SELECT app_act_as_system('job-results')`);
      expect((await app.query(`SELECT count(*)::int AS n FROM tasks`)).rows[0].n).toBeGreaterThan(0); // reads every task
      expect((await app.query(`SELECT count(*)::int AS n FROM memories`)).rows[0].n).toBe(0); // and nothing else
      await expect(
        app.query(`INSERT INTO approval_requests (subject_kind, subject_id, requested_by) VALUES ('agent_stuck', 'x', 'bot')`),
      ).rejects.toThrow(/row-level security/);
      await app.query('ROLLBACK');
      await app.query('BEGIN');
      await app.query(`SELECT app_act_as_system('agent-stuck')`);
      expect((await app.query(`SELECT count(*)::int AS n FROM tasks`)).rows[0].n).toBe(0);
      await app.query('SAVEPOINT probe');
      await expect(
        app.query(`INSERT INTO approval_requests (subject_kind, subject_id, requested_by) VALUES ('task', 'x', 'bot')`),
      ).rejects.toThrow(/row-level security/);
      await app.query('ROLLBACK TO SAVEPOINT probe');
      await app.query(`INSERT INTO approval_requests (subject_kind, subject_id, requested_by) VALUES ('agent_stuck', 'x', 'bot')`);
      await app.query('ROLLBACK');
    } finally {
      await app.end();
    }
  });
});
