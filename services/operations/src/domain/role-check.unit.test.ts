import { describe, expect, it } from 'vitest';
import { roleProblems, roleRefusal, type RoleFacts } from './role-check.js';

const app: RoleFacts = { role: 'operations_app', superuser: false, bypassRls: false, ownedTables: [] };

describe('service role check', () => {
  it('accepts a role that is subject to row-level security', () => {
    expect(roleProblems(app)).toEqual([]);
    expect(roleRefusal(app)).toBeNull();
  });

  it('refuses a superuser, a BYPASSRLS role and a table owner, naming the role and the fix', () => {
    const owner = roleRefusal({ ...app, role: 'platform_owner', ownedTables: ['tasks', 'users'] });
    expect(owner).toMatch(/role "platform_owner"/);
    expect(owner).toMatch(/owns the tables \(tasks, users\)/);
    expect(owner).toMatch(/operations_app/);
    expect(owner).toMatch(/DATABASE_ADMIN_URL is only for migrations/);
    expect(roleRefusal({ ...app, role: 'postgres', superuser: true })).toMatch(/role "postgres", which is a superuser/);
    expect(roleRefusal({ ...app, bypassRls: true })).toMatch(/has BYPASSRLS/);
  });

  it('lists every problem at once and shortens a long table list', () => {
    const tables = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const problems = roleProblems({ role: 'x', superuser: true, bypassRls: true, ownedTables: tables });
    expect(problems).toHaveLength(3);
    expect(problems[2]).toMatch(/a, b, c, d, e and 2 more/);
  });
});
