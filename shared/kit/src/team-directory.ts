import type { Principal } from '@platform/contracts';

/**
 * Which teams a user belongs to. Operations owns teams (Postgres); knowledge and coordination ask
 * this directory when a record is shared with a team. The production implementation reads what
 * operations publishes (see `natsTeamDirectory`); tests may use `staticTeamDirectory`.
 */
export interface TeamDirectory {
  /** Ids of the teams `userId` is a member of (any role), as operations last said. */
  teamsOf(userId: string): Promise<ReadonlySet<string>>;
}

/** A fixed directory, for unit tests and for processes that have no teams (every set empty). */
export function staticTeamDirectory(membership: Record<string, readonly string[]> = {}): TeamDirectory {
  return { teamsOf: async (userId) => new Set(membership[userId] ?? []) };
}

/** Services and platform admins see every record; everyone else sees what they or their teams own. */
export const seesEverything = (p: Principal): boolean => p.kind === 'service' || (p.kind === 'user' && p.roles.includes('admin'));
