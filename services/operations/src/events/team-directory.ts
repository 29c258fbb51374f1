import { TEAM_MEMBERSHIP_BUCKET, TeamMembershipEntry, teamMembershipKey, userIdOfTeamMembershipKey } from '@platform/contracts';
import {
  ensureKvBucket,
  startDrainLoop,
  type KV,
  type Logger,
  type NatsConnection,
  type OutboxSignal,
  type StreamReplicas,
} from '@platform/kit';
import { drainDirectoryChanges, markAllForResync, type DirectoryEntry } from '../store/team-directory.js';
import type { SqlPool } from '../store/sql.js';

export interface TeamDirectoryPublisher {
  /** Ask for a pass now (after a commit that may have changed memberships). */
  poke(): void;
  stop(): Promise<void>;
}

/** Opens (creating when missing) the bucket knowledge and coordination read through natsTeamDirectory. */
export function teamMembershipBucket(nc: NatsConnection, bucket = TEAM_MEMBERSHIP_BUCKET, replicas?: StreamReplicas): Promise<KV> {
  // history 1: readers only ever want the latest set of teams.
  return ensureKvBucket(nc, bucket, { history: 1, ...(replicas ? { replicas } : {}) });
}

async function put(kv: KV, e: DirectoryEntry): Promise<void> {
  const key = teamMembershipKey(e.userId);
  if (e.teamIds.length === 0) {
    await kv.delete(key); // a missing key means "no teams"
    return;
  }
  const value = TeamMembershipEntry.parse({ userId: e.userId, teamIds: e.teamIds, updatedAt: e.readAt.toISOString() });
  await kv.put(key, JSON.stringify(value));
}

/**
 * Keeps the TEAM_MEMBERSHIP bucket equal to team_memberships. Every membership write leaves a row in
 * team_directory_changes (a trigger, in the writer's transaction); this drains those rows into the
 * bucket whenever such a transaction commits (`written`, rung by the write listener from the queue's
 * NOTIFY trigger), on every poke and every `intervalMs`, so a failed KV write (NATS down) or a crash between
 * commit and publish is retried until it lands. On start it first marks every member — and every
 * user the bucket still lists — for republishing (the bucket may have been lost or written by an
 * older release).
 */
export async function startTeamDirectoryPublisher(opts: {
  sql: SqlPool;
  nc: NatsConnection;
  log: Logger;
  intervalMs: number;
  /** Rings when a transaction that queued directory changes committed (WriteListener.teamDirectoryWritten). */
  written: OutboxSignal;
  batch?: number;
  bucket?: string;
  /** Replicas of the bucket (NATS_STREAM_REPLICAS). */
  replicas?: StreamReplicas;
}): Promise<TeamDirectoryPublisher> {
  const log = opts.log.child({ component: 'team-directory' });
  const batch = opts.batch ?? 200;
  const kv = await teamMembershipBucket(opts.nc, opts.bucket, opts.replicas);

  const listed: string[] = [];
  for await (const key of await kv.keys()) {
    const userId = userIdOfTeamMembershipKey(key);
    if (userId !== null) listed.push(userId);
  }
  const marked = await markAllForResync(opts.sql, listed);
  log.info({ marked }, 'team directory resync queued');

  return startDrainLoop({
    name: 'team directory',
    intervalMs: opts.intervalMs,
    log,
    signal: opts.written,
    drain: async () => {
      const n = await drainDirectoryChanges(opts.sql, batch, async (entries) => {
        for (const e of entries) await put(kv, e);
      });
      return n === batch;
    },
  });
}
