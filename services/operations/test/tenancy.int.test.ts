import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { roleRefusal } from '../src/domain/role-check.js';
import { createDb } from '../src/store/prisma.js';
import { connectedRoleFacts } from '../src/store/role.js';
import { callerFor, codeOf, testDeps, user } from './support/callers.js';
import { useScratchDb } from './support/scratch.js';

// Issue 12, item 6: FORCEd row-level security, the service refusing an unsafe role, memory history
// without leaks, and approval requests that strangers cannot block.
const s = useScratchDb('tenancy');

const deps = () => testDeps(s);
const PER_USER_TABLES = [
  'agents',
  'approval_requests',
  'conversations',
  'memories',
  'memory_logs',
  'memory_tags',
  'messages',
  'saga_instances',
  'sessions',
  'tasks',
  'team_memberships',
  'teams',
  'users',
];

/** A plain connection as the owner WITHOUT the break-glass setting: what a misconfigured service would be. */
async function asPlainOwner<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: s.adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('FORCE row-level security', () => {
  it('is forced on every table with row-level security, and those are the per-user tables', async () => {
    const rows = (
      await s.admin.query<{ t: string; forced: boolean }>(
        `SELECT c.relname AS t, c.relforcerowsecurity AS forced FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity ORDER BY 1`,
      )
    ).rows;
    expect(rows.map((r) => r.t)).toEqual(PER_USER_TABLES);
    expect(rows.filter((r) => !r.forced)).toEqual([]);
  });

  it('subjects the owner too: without its break-glass setting it sees and writes nothing', async () => {
    const alice = callerFor(deps(), user('alice'));
    const task = await alice.tasks.create({ title: 'owner probe' });
    await alice.memories.create({ content: 'owner probe memory', type: 'semantic' });
    await asPlainOwner(async (c) => {
      for (const t of PER_USER_TABLES) expect((await c.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n, t).toBe(0);
      await expect(c.query(`INSERT INTO tasks (title, owner_id) VALUES ('forged', 'alice')`)).rejects.toThrow(/row-level security/);
      expect((await c.query(`UPDATE tasks SET title = 'defaced'`)).rowCount).toBe(0);
      // Explicit maintenance (migrations, these tests' assertions) opts in, for one transaction.
      await c.query('BEGIN');
      await c.query(`SET LOCAL app.owner_bypass = 'on'`);
      expect((await c.query(`SELECT title FROM tasks WHERE id = $1`, [task.id])).rows).toEqual([{ title: 'owner probe' }]);
      await c.query('COMMIT');
      expect((await c.query(`SELECT count(*)::int AS n FROM tasks`)).rows[0].n).toBe(0);
    });
  });

  it('keeps the service role from using the break-glass setting', async () => {
    const app = new pg.Client({ connectionString: s.appUrl, options: '-c app.owner_bypass=on' });
    await app.connect();
    try {
      expect((await app.query(`SELECT count(*)::int AS n FROM tasks`)).rows[0].n).toBe(0);
    } finally {
      await app.end();
    }
  });

  it('still lets team rights, cascades and the acyclic-task check work (helpers run as the owner)', async () => {
    const carol = callerFor(deps(), user('carol'));
    const dan = callerFor(deps(), user('dan'));
    await dan.users.me({});
    const team = await carol.teams.create({ name: 'forced team' });
    await carol.teams.invite({ teamId: team.id, userId: 'dan', role: 'member' });
    const shared = await carol.tasks.create({ title: 'shared', teamId: team.id, subtasks: [{ title: 'child' }] });
    expect((await dan.tasks.get({ id: shared.id })).title).toBe('shared');
    const tree = await carol.tasks.get({ id: shared.id });
    const child = tree.subtasks[0]!;
    // Moving the parent under its own child is refused by the SECURITY DEFINER trigger.
    expect(await codeOf(carol.tasks.move({ id: shared.id, parentId: child.id }))).toMatch(/BAD_REQUEST|CONFLICT/);
    await carol.teams.removeMember({ teamId: team.id, userId: 'dan' });
    expect(await codeOf(dan.tasks.get({ id: shared.id }))).toBe('NOT_FOUND');
  });
});

describe('operations refuses an unsafe database role', () => {
  it('accepts operations_app and refuses the owner of DATABASE_ADMIN_URL, naming it and the fix', async () => {
    expect(roleRefusal(await connectedRoleFacts(s.db))).toBeNull();
    const ownerDb = createDb(s.adminUrl, { max: 1 });
    try {
      const facts = await connectedRoleFacts(ownerDb);
      expect(facts.ownedTables).toEqual(expect.arrayContaining(['tasks', 'users', 'memories']));
      const refusal = roleRefusal(facts);
      expect(refusal).toMatch(new RegExp(`role "${facts.role}"`));
      expect(refusal).toMatch(/owns the tables/);
      expect(refusal).toMatch(/operations_app/);
    } finally {
      await ownerDb.$disconnect();
    }
  });
});

describe('memories.history', () => {
  it("is NOT_FOUND for another user's memory, as for an unknown id, and outlives the owner's memory", async () => {
    const erin = callerFor(deps(), user('erin'));
    const frank = callerFor(deps(), user('frank'));
    const m = await erin.memories.create({ content: 'erin history probe', type: 'semantic' });
    await erin.memories.update({ id: m.id, content: 'erin history probe v2' });
    expect((await erin.memories.history({ id: m.id })).map((e) => e.change)).toEqual(['created', 'updated']);

    expect(await codeOf(frank.memories.history({ id: m.id }))).toBe('NOT_FOUND');
    expect(await codeOf(frank.memories.history({ id: crypto.randomUUID() }))).toBe('NOT_FOUND');

    await s.admin.query(`DELETE FROM memories WHERE id = $1`, [m.id]);
    expect((await erin.memories.history({ id: m.id })).map((e) => e.change)).toEqual(['created', 'updated']);
    expect(await codeOf(frank.memories.history({ id: m.id }))).toBe('NOT_FOUND');
  });
});

describe('approval requests per subject', () => {
  it("are neither blocked nor revealed by a stranger's pending request", async () => {
    const gail = callerFor(deps(), user('gail'));
    const hank = callerFor(deps(), user('hank'));
    const mine = await gail.approvals.request({ subjectKind: 'other', subjectId: 'shared-subject' });
    // Hank shares no team with Gail: his request on the same subject goes through.
    const his = await hank.approvals.request({ subjectKind: 'other', subjectId: 'shared-subject' });
    expect(his.id).not.toBe(mine.id);
    expect((await hank.approvals.list({ subjectKind: 'other' })).items.map((a) => a.id)).toEqual([his.id]);
    // One pending request per subject and requester still holds.
    expect(await codeOf(gail.approvals.request({ subjectKind: 'other', subjectId: 'shared-subject' }))).toBe('CONFLICT');
  });

  it("are one pending per subject within a team, whose members see each other's requests", async () => {
    const ida = callerFor(deps(), user('ida'));
    const jon = callerFor(deps(), user('jon'));
    const kim = callerFor(deps(), user('kim'));
    await jon.users.me({});
    const team = await ida.teams.create({ name: 'approval scope team' });
    await ida.teams.invite({ teamId: team.id, userId: 'jon', role: 'member' });
    const first = await ida.approvals.request({ subjectKind: 'other', subjectId: 'team-subject', teamId: team.id });
    expect(await codeOf(jon.approvals.request({ subjectKind: 'other', subjectId: 'team-subject', teamId: team.id }))).toBe('CONFLICT');
    expect((await jon.approvals.get({ id: first.id })).id).toBe(first.id); // the conflict hides nothing from him
    // Kim, outside the team, is not blocked by the team's pending request.
    await kim.approvals.request({ subjectKind: 'other', subjectId: 'team-subject' });
    // Once decided, the subject is open again in the team.
    await ida.teams.invite({ teamId: team.id, userId: 'kim', role: 'admin' });
    await kim.approvals.decide({ id: first.id, decision: 'rejected' });
    await jon.approvals.request({ subjectKind: 'other', subjectId: 'team-subject', teamId: team.id });
  });
});
