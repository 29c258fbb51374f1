import type { JobOwner, Principal } from '@platform/contracts';
import { DomainError, seesEverything, type TeamDirectory } from '@platform/kit';

/** What an owned record (a job or a schedule) says about whose it is. */
export interface Owned {
  /** Null on records written before jobs and schedules had owners: only services and admins see those. */
  owner: JobOwner | null;
  teamId: string | null;
}

/** A job as far as visibility goes: owned, and possibly held by an agent. */
export interface OwnedJob extends Owned {
  status: string;
  agent: string | null;
}

/**
 * What one caller may see, decided once per request (the team lookup is the only I/O), then asked
 * per record without awaiting, so a list filters thousands of records cheaply.
 * The same answer covers reading params and result, cancelling, retrying and deleting: whoever may
 * see a job may act on it (agents, who may see the jobs they hold, cannot cancel or retry: the
 * router refuses them before any of this).
 */
export interface Viewer {
  job(job: OwnedJob): boolean;
  schedule(schedule: Owned): boolean;
}

export const ownerOf = (p: Principal): JobOwner => ({ kind: p.kind, id: p.id });

const isOwner = (owner: JobOwner | null, p: Principal) => owner !== null && owner.kind === p.kind && owner.id === p.id;

export async function viewerFor(teams: TeamDirectory, p: Principal): Promise<Viewer> {
  if (seesEverything(p)) return { job: () => true, schedule: () => true };
  // An agent sees a job only while it holds it, whoever owns it; it owns no schedules.
  if (p.kind === 'agent') return { job: (j) => j.status === 'running' && j.agent === p.id, schedule: () => false };
  const mine = p.kind === 'user' ? await teams.teamsOf(p.id) : new Set<string>();
  const sees = (r: Owned) => isOwner(r.owner, p) || (r.owner !== null && r.teamId !== null && mine.has(r.teamId));
  return { job: sees, schedule: sees };
}

/**
 * A record shared with a team must name a team the caller belongs to. Services and platform admins
 * may name any team (they already see everything; they share on a team's behalf).
 */
export async function assertMayShareWith(teams: TeamDirectory, p: Principal, teamId: string | undefined): Promise<void> {
  if (teamId === undefined || seesEverything(p)) return;
  if (p.kind !== 'user' || !(await teams.teamsOf(p.id)).has(teamId))
    throw new DomainError('FORBIDDEN', `not a member of team ${teamId}`, { teamId });
}
