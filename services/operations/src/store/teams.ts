import type { UserScope } from './scope.js';

export type TeamRoleName = 'owner' | 'admin' | 'member' | 'viewer';

export interface TeamRow {
  id: string;
  name: string;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface MembershipRow {
  teamId: string;
  userId: string;
  role: TeamRoleName;
  createdAt: Date;
  updatedAt: Date;
}

/** A team and its creator's owner membership (the RLS policy lets a creator bootstrap that one row). */
export async function insertTeam(s: UserScope, name: string, id?: string): Promise<TeamRow & { memberships: MembershipRow[] }> {
  const team = await s.tx.team.create({ data: { ...(id ? { id } : {}), name, createdBy: s.userId } });
  const owner = await s.tx.teamMembership.create({ data: { teamId: team.id, userId: s.userId, role: 'owner' } });
  return { ...team, memberships: [owner] };
}

/** Visible only to members (and the creator): the filter is explicit here and enforced again by RLS. */
export function findTeam(s: UserScope, id: string): Promise<(TeamRow & { memberships: MembershipRow[] }) | null> {
  return s.tx.team.findFirst({
    where: { id, OR: [{ memberships: { some: { userId: s.userId } } }, { createdBy: s.userId }] },
    include: { memberships: { orderBy: { createdAt: 'asc' } } },
  });
}

export function listMyTeams(s: UserScope): Promise<Array<TeamRow & { memberships: MembershipRow[] }>> {
  return s.tx.team.findMany({
    where: { memberships: { some: { userId: s.userId } } },
    include: { memberships: { where: { userId: s.userId } } },
    orderBy: { name: 'asc' },
  });
}

export async function myRole(s: UserScope, teamId: string): Promise<TeamRoleName | null> {
  const m = await s.tx.teamMembership.findUnique({ where: { teamId_userId: { teamId, userId: s.userId } } });
  return m?.role ?? null;
}

export function findMembership(s: UserScope, teamId: string, userId: string): Promise<MembershipRow | null> {
  return s.tx.teamMembership.findUnique({ where: { teamId_userId: { teamId, userId } } });
}

export function insertMembership(s: UserScope, teamId: string, userId: string, role: TeamRoleName): Promise<MembershipRow> {
  return s.tx.teamMembership.create({ data: { teamId, userId, role } });
}

export function updateMembershipRole(s: UserScope, teamId: string, userId: string, role: TeamRoleName): Promise<MembershipRow> {
  return s.tx.teamMembership.update({ where: { teamId_userId: { teamId, userId } }, data: { role } });
}

export async function deleteMembership(s: UserScope, teamId: string, userId: string): Promise<boolean> {
  const r = await s.tx.teamMembership.deleteMany({ where: { teamId, userId } });
  return r.count === 1;
}

/** Owners of a team, locked so two concurrent demotions cannot both pass a "not the last owner" check. */
export async function lockOwners(s: UserScope, teamId: string): Promise<string[]> {
  const rows = await s.tx.$queryRaw<Array<{ user_id: string }>>`
    SELECT user_id FROM team_memberships WHERE team_id = ${teamId}::uuid AND role = 'owner' FOR UPDATE`;
  return rows.map((r) => r.user_id);
}

export async function deleteTeam(s: UserScope, id: string): Promise<boolean> {
  const r = await s.tx.team.deleteMany({ where: { id } });
  return r.count === 1;
}
