import { asSystemSql } from './scope.js';
import type { SqlPool } from './sql.js';

/**
 * The team directory's to-do list. A trigger on team_memberships (migration
 * *_force_rls_team_directory) upserts `team_directory_changes(user_id, seq)` for every user whose set
 * of teams a committed (or cascaded) write changed, in the writer's transaction: the change and the
 * note that the directory must follow commit together, whichever code path wrote them. The publisher
 * (events/team-directory.ts) drains the list into the TEAM_MEMBERSHIP KV bucket.
 */
export interface DirectoryEntry {
  userId: string;
  /** Sorted team ids; empty = in no team (the publisher deletes the key). */
  teamIds: string[];
  /** When the membership was read (the transaction's start). */
  readAt: Date;
}

/**
 * Marks every user with a membership, plus `alsoUserIds` (users the bucket still lists), for
 * republishing: the start-up resync. Going through the same list as live changes keeps one writer
 * path, so a resync never overwrites a newer change with an older read.
 */
export function markAllForResync(pool: SqlPool, alsoUserIds: readonly string[]): Promise<number> {
  return asSystemSql(pool, 'team-directory', async (tx) => {
    const rows = await tx.query<{ n: number }>(
      `WITH marked AS (
         INSERT INTO team_directory_changes (user_id)
         SELECT user_id FROM team_memberships UNION SELECT unnest($1::text[])
         ON CONFLICT (user_id) DO UPDATE SET seq = nextval(pg_get_serial_sequence('team_directory_changes', 'seq')), changed_at = now()
         RETURNING 1)
       SELECT count(*)::int AS n FROM marked`,
      [[...alsoUserIds]],
    );
    return rows[0]?.n ?? 0;
  });
}

/**
 * Takes up to `limit` pending users (rows locked, SKIP LOCKED so replicas share the work), reads their
 * current teams, hands them to `publish` while the rows stay locked, and removes the rows it handled.
 * A change committed meanwhile bumps its row's seq (after waiting for this lock), so that row stays for
 * the next pass: the bucket ends at the latest membership, never an older read. Returns how many
 * users were published.
 */
export function drainDirectoryChanges(
  pool: SqlPool,
  limit: number,
  publish: (entries: DirectoryEntry[]) => Promise<void>,
): Promise<number> {
  return asSystemSql(pool, 'team-directory', async (tx) => {
    const pending = await tx.query<{ user_id: string; seq: string }>(
      `SELECT user_id, seq::text AS seq FROM team_directory_changes ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    if (pending.length === 0) return 0;
    const users = pending.map((p) => p.user_id);
    const teams = await tx.query<{ user_id: string; team_ids: string[]; read_at: Date }>(
      `SELECT u.user_id, coalesce(array_agg(m.team_id::text ORDER BY m.team_id) FILTER (WHERE m.team_id IS NOT NULL), '{}') AS team_ids, now() AS read_at
         FROM unnest($1::text[]) AS u(user_id) LEFT JOIN team_memberships m ON m.user_id = u.user_id
        GROUP BY u.user_id`,
      [users],
    );
    await publish(teams.map((t) => ({ userId: t.user_id, teamIds: t.team_ids, readAt: t.read_at })));
    await tx.query(
      `DELETE FROM team_directory_changes c USING unnest($1::text[], $2::bigint[]) AS d(user_id, seq) WHERE c.user_id = d.user_id AND c.seq = d.seq`,
      [users, pending.map((p) => p.seq)],
    );
    return pending.length;
  });
}
