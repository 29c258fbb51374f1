/**
 * Operations enforces ownership twice: in code, and with row-level security underneath. The second
 * layer only exists if the connecting role is subject to the policies, which it is not when it is a
 * superuser, has BYPASSRLS, or owns (or inherits the ownership of) the tables — FORCE makes the owner
 * subject to policies, but an owner can also turn FORCE off. So the service refuses to start as such
 * a role instead of quietly running with one layer.
 */
export interface RoleFacts {
  role: string;
  superuser: boolean;
  bypassRls: boolean;
  /** Tables of the public schema whose owner is this role or a role it is a member of. */
  ownedTables: readonly string[];
}

/** Why `facts` make an unsafe service role; empty when the role may run the service. */
export function roleProblems(facts: RoleFacts): string[] {
  const problems: string[] = [];
  if (facts.superuser) problems.push('is a superuser (row-level security never applies to superusers)');
  if (facts.bypassRls) problems.push('has BYPASSRLS (row-level security does not apply to it)');
  if (facts.ownedTables.length > 0) {
    const shown =
      facts.ownedTables.slice(0, 5).join(', ') + (facts.ownedTables.length > 5 ? ` and ${facts.ownedTables.length - 5} more` : '');
    problems.push(`owns the tables (${shown}), so it can switch their row-level security off`);
  }
  return problems;
}

/** The refusal, naming the role and the fix; null when the role is fine. */
export function roleRefusal(facts: RoleFacts): string | null {
  const problems = roleProblems(facts);
  if (problems.length === 0) return null;
  return (
    `refusing to start: DATABASE_URL connects as role "${facts.role}", which ${problems.join('; ')}. ` +
    'Connect as the service role instead (operations_app: LOGIN NOSUPERUSER NOBYPASSRLS, not the owner of the tables; ' +
    'the owner role in DATABASE_ADMIN_URL is only for migrations), e.g. DATABASE_URL=postgresql://operations_app:…@host:5432/platform.'
  );
}
