import type { Principal } from '@platform/contracts';
import { DomainError, seesEverything, type TeamDirectory } from '@platform/kit';
import type { Ownership, Scope } from '../store/scope.js';

/**
 * Ownership rules of the knowledge graph (ARCHITECTURE.md, "Security and tenancy"): a user sees and
 * changes what they own and what their teams own; an agent what it created; services and platform
 * admins everything. Anything else answers NOT_FOUND, exactly as a record that does not exist.
 */
export async function scopeOf(teams: TeamDirectory, p: Principal): Promise<Scope> {
  if (seesEverything(p)) return { all: true, kind: p.kind, id: p.id, teams: [] };
  // Team membership is a users' matter (operations' teams); agents see only what they created.
  const ids = p.kind === 'user' ? [...(await teams.teamsOf(p.id))] : [];
  return { all: false, kind: p.kind, id: p.id, teams: ids };
}

/**
 * The owner of a record `p` creates, shared with `teamId` when given. Only a member of that team
 * may share with it (services and admins may name any team: they act for others); FORBIDDEN
 * otherwise: the caller named the team, so saying no leaks nothing.
 */
export function ownershipFor(p: Principal, scope: Scope, teamId: string | null | undefined): Ownership {
  const team = teamId ?? null;
  if (team !== null && !scope.all && !scope.teams.includes(team)) {
    throw new DomainError('FORBIDDEN', `you are not a member of team ${team}`, { teamId: team });
  }
  return { ownerKind: p.kind, ownerId: p.id, teamId: team };
}
