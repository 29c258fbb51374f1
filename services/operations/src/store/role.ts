import type { RoleFacts } from '../domain/role-check.js';
import type { Db } from './prisma.js';

/** What Postgres says about the role this client connects as (see domain/role-check.ts). */
export async function connectedRoleFacts(db: Db): Promise<RoleFacts> {
  // pg_has_role(…, 'MEMBER'): a member of the owner role may act as the owner (SET ROLE, or inherited
  // privileges), which is as good as owning the table.
  const rows = await db.$queryRaw<Array<{ role: string; superuser: boolean; bypass_rls: boolean; owned: string[] }>>`
    SELECT r.rolname AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypass_rls,
           coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname)
                       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                        AND pg_has_role(current_user, c.relowner, 'MEMBER')), '{}') AS owned
      FROM pg_roles r WHERE r.rolname = current_user`;
  const r = rows[0];
  if (!r) throw new Error('current_user has no pg_roles row');
  return { role: r.role, superuser: r.superuser, bypassRls: r.bypass_rls, ownedTables: r.owned };
}
