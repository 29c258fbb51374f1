import type { Principal } from '@platform/contracts';
import { DomainError } from '@platform/kit';
import type { TeamRoleName } from '../store/teams.js';

/** Platform admins (token role `admin`): decide any approval, manage agents, oversee agent memory. */
export const isAdmin = (p: Principal) => p.roles.includes('admin');

export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);

/** The event store API is infrastructure: services and platform admins only. */
export function requireServiceOrAdmin(p: Principal): void {
  if (p.kind !== 'service' && !isAdmin(p)) throw forbidden('the events API is for services and platform admins');
}

export function requireAdmin(p: Principal, what: string): void {
  if (!isAdmin(p)) throw forbidden(`${what} needs the platform admin role`);
}

/** Team roles from strongest to weakest; a role allows everything the weaker ones do. */
const RANK: Record<TeamRoleName, number> = { owner: 3, admin: 2, member: 1, viewer: 0 };

export const atLeast = (role: TeamRoleName | null, needed: TeamRoleName) => role !== null && RANK[role] >= RANK[needed];

/** What a team role allows on the team's shared rows. */
export const teamMay = {
  read: (role: TeamRoleName | null) => atLeast(role, 'viewer'),
  change: (role: TeamRoleName | null) => atLeast(role, 'member'),
  manage: (role: TeamRoleName | null) => atLeast(role, 'admin'),
};

/**
 * Who may give whom which role: owners anything; admins only member/viewer, and never to an owner or
 * admin (they cannot demote their peers or superiors).
 */
export function mayAssignRole(actor: TeamRoleName | null, target: TeamRoleName | null, newRole: TeamRoleName): boolean {
  if (actor === 'owner') return true;
  if (actor === 'admin') return (target === null || !atLeast(target, 'admin')) && !atLeast(newRole, 'admin');
  return false;
}
