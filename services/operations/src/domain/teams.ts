import type { Principal } from '@platform/contracts';
import { conflict, DomainError, notFound } from '@platform/kit';
import { toDomainError } from '../store/db-errors.js';
import { asUser } from '../store/scope.js';
import {
  deleteMembership,
  findMembership,
  findTeam,
  insertMembership,
  insertTeam,
  listMyTeams,
  lockOwners,
  myRole,
  updateMembershipRole,
  type MembershipRow,
  type TeamRoleName,
  type TeamRow,
} from '../store/teams.js';
import { forbidden, mayAssignRole, teamMay } from './access.js';
import type { CoreDeps } from './deps.js';

export type TeamWithMembers = TeamRow & { memberships: MembershipRow[] };

/** Creates a team; its creator is its first owner. A taken name is a CONFLICT. */
export function createTeam(deps: CoreDeps, principal: Principal, name: string): Promise<TeamWithMembers> {
  return asUser(deps.db, principal, (s) => insertTeam(s, name), { write: true });
}

export function getTeam(deps: CoreDeps, principal: Principal, id: string): Promise<TeamWithMembers> {
  return asUser(deps.db, principal, async (s) => {
    const team = await findTeam(s, id);
    if (!team) throw notFound('team', id);
    return team;
  });
}

/** The caller's teams, each with the caller's own membership (their role). */
export function listTeams(deps: CoreDeps, principal: Principal): Promise<TeamWithMembers[]> {
  return asUser(deps.db, principal, (s) => listMyTeams(s));
}

/**
 * Adds a user (by principal id) to a team. Owners may grant any role, admins member or viewer.
 * The user must exist (have used the platform); a second invite is a CONFLICT.
 */
export function inviteMember(
  deps: CoreDeps,
  principal: Principal,
  teamId: string,
  userId: string,
  role: TeamRoleName,
): Promise<MembershipRow> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const mine = await myRole(s, teamId);
      if (mine === null) throw notFound('team', teamId);
      if (!teamMay.manage(mine) || !mayAssignRole(mine, null, role)) throw forbidden(`a team ${mine} cannot add a ${role}`);
      try {
        return await insertMembership(s, teamId, userId, role);
      } catch (err) {
        const e = toDomainError(err);
        if (e instanceof DomainError && e.details?.['constraint'] === 'team_memberships_user_id_fkey') throw notFound('user', userId);
        throw e;
      }
    },
    { write: true },
  );
}

/** Changes a member's role. A team always keeps at least one owner. */
export function setMemberRole(
  deps: CoreDeps,
  principal: Principal,
  teamId: string,
  userId: string,
  role: TeamRoleName,
): Promise<MembershipRow> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const mine = await myRole(s, teamId);
      if (mine === null) throw notFound('team', teamId);
      const target = await findMembership(s, teamId, userId);
      if (!target) throw notFound('team member', userId);
      if (!mayAssignRole(mine, target.role, role)) throw forbidden(`a team ${mine} cannot make a ${target.role} a ${role}`);
      if (target.role === 'owner' && role !== 'owner') await keepAnOwner(s, teamId, userId);
      return target.role === role ? target : updateMembershipRole(s, teamId, userId, role);
    },
    { write: true },
  );
}

/** Removes a member (owners/admins), or lets a member leave; the last owner cannot go. */
export function removeMember(deps: CoreDeps, principal: Principal, teamId: string, userId: string): Promise<void> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const mine = await myRole(s, teamId);
      if (mine === null) throw notFound('team', teamId);
      const target = await findMembership(s, teamId, userId);
      if (!target) throw notFound('team member', userId);
      const self = userId === principal.id;
      if (!self && !mayAssignRole(mine, target.role, 'viewer')) throw forbidden(`a team ${mine} cannot remove a ${target.role}`);
      if (target.role === 'owner') await keepAnOwner(s, teamId, userId);
      await deleteMembership(s, teamId, userId);
    },
    { write: true },
  );
}

async function keepAnOwner(s: Parameters<typeof lockOwners>[0], teamId: string, leaving: string): Promise<void> {
  const owners = await lockOwners(s, teamId);
  if (owners.filter((o) => o !== leaving).length === 0) throw conflict('a team needs at least one owner', { teamId });
}
