import { TEAM_MEMBERSHIP_BUCKET, TeamMembershipEntry, teamMembershipKey, userIdOfTeamMembershipKey } from '@platform/contracts';
import { KvWatchInclude, type KV, type NatsConnection } from 'nats';
import type { TeamDirectory } from './team-directory.js';

export interface NatsTeamDirectoryOptions {
  /**
   * How long an answer is reused. Short on purpose: a member removed from a team keeps its rights
   * for at most this long (plus operations' publish delay). Default 3 s.
   */
  ttlMs?: number;
  /** Most users cached at once (the oldest entry goes first). Default 10 000. */
  maxEntries?: number;
  /** Bucket name (tests); default TEAM_MEMBERSHIP_BUCKET. */
  bucket?: string;
  /** For tests. */
  now?: () => number;
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * The team directory read from the NATS KV bucket operations writes (TEAM_MEMBERSHIP). A missing key,
 * or a missing bucket (operations has not started yet), means no teams: the safe answer for access
 * checks. A value that fails its schema throws: a broken writer must be noticed, not read as an
 * answer. Concurrent lookups of one user share one KV read.
 */
export function natsTeamDirectory(nc: NatsConnection, opts: NatsTeamDirectoryOptions = {}): TeamDirectory & { clear(): void } {
  const ttlMs = opts.ttlMs ?? 3_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const bucket = opts.bucket ?? TEAM_MEMBERSHIP_BUCKET;
  const now = opts.now ?? Date.now;
  // Insertion-ordered: re-inserting on refresh keeps the oldest entry first, so eviction is FIFO by age.
  const cache = new Map<string, { at: number; teams: Promise<ReadonlySet<string>> }>();
  let kv: Promise<KV> | undefined;

  // Every change operations writes drops that user's cached answer at once (a watch on the bucket),
  // so a new member is not refused for a whole TTL; the TTL still bounds staleness if the watch lags.
  const invalidateOnChange = async (bound: KV) => {
    try {
      for await (const e of await bound.watch({ include: KvWatchInclude.UpdatesOnly })) {
        const userId = userIdOfTeamMembershipKey(e.key);
        if (userId !== null) cache.delete(userId);
      }
    } catch {
      // connection closing or the watch refused: the TTL alone bounds staleness
    }
  };
  const bind = (): Promise<KV> => {
    if (!kv) {
      // bindOnly: readers never create (or reconfigure) operations' bucket.
      const bound = nc.jetstream().views.kv(bucket, { bindOnly: true });
      bound.then(
        (b) => void invalidateOnChange(b),
        () => (kv = undefined),
      ); // a missing bucket: try again on the next miss
      kv = bound;
    }
    return kv;
  };

  const read = async (userId: string): Promise<ReadonlySet<string>> => {
    let entry: Awaited<ReturnType<KV['get']>>;
    try {
      entry = await (await bind()).get(teamMembershipKey(userId));
    } catch (err) {
      // No bucket yet (operations has not started): nobody is in a team so far.
      if (err instanceof Error && /stream not found|bucket not found/i.test(err.message)) return EMPTY;
      throw err;
    }
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return EMPTY;
    const value = TeamMembershipEntry.parse(entry.json());
    if (value.userId !== userId) throw new Error(`team directory entry ${entry.key} names ${value.userId}, not ${userId}`);
    return new Set(value.teamIds);
  };

  return {
    teamsOf(userId: string): Promise<ReadonlySet<string>> {
      const t = now();
      const hit = cache.get(userId);
      if (hit && t - hit.at < ttlMs) return hit.teams;
      cache.delete(userId);
      const teams = read(userId);
      // A failed read is not cached: the next call asks again.
      teams.catch(() => {
        if (cache.get(userId)?.teams === teams) cache.delete(userId);
      });
      cache.set(userId, { at: t, teams });
      while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
      return teams;
    },
    clear: () => cache.clear(),
  };
}
