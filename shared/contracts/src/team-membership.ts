import { z } from 'zod';

/**
 * The team directory: operations (which owns teams) writes each user's current team ids into this
 * NATS KV bucket after every committed membership change, and resyncs it on start. Knowledge and
 * coordination read it (shared/kit `natsTeamDirectory`) to apply team ownership. A missing key means
 * the user is in no team.
 */
export const TEAM_MEMBERSHIP_BUCKET = 'TEAM_MEMBERSHIP';

const SAFE_KEY = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * A user id as a KV key: the id itself when it is made of key-safe characters, else `=` + base64url
 * of the id. A safe id never starts with `=`, so the mapping is one-to-one (same scheme as agentKey):
 * user ids are JWT `sub`s and may hold `.`, `:`, `@` or `|`, which keys cannot (or would split on).
 */
export const teamMembershipKey = (userId: string): string =>
  SAFE_KEY.test(userId) ? userId : `=${Buffer.from(userId, 'utf8').toString('base64url')}`;

/** The inverse of teamMembershipKey (null for a key that no user id maps to). */
export function userIdOfTeamMembershipKey(key: string): string | null {
  if (SAFE_KEY.test(key)) return key;
  if (!key.startsWith('=')) return null;
  const id = Buffer.from(key.slice(1), 'base64url').toString('utf8');
  return teamMembershipKey(id) === key ? id : null;
}

export const TeamMembershipEntry = z.strictObject({
  userId: z.string().min(1).max(200),
  /** Every team the user is a member of (any role), sorted. */
  teamIds: z.array(z.uuid()).max(10_000),
  /** When operations read the membership it wrote here (ISO 8601). */
  updatedAt: z.iso.datetime({ offset: true }),
});
export type TeamMembershipEntry = z.infer<typeof TeamMembershipEntry>;
