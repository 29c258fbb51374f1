import type { SqlRunner } from './sql.js';

/**
 * Deletes up to `limit` outbox rows SENT before `before`, oldest first; returns how many. An unsent
 * row (published_at NULL) is never selected, however old: the relay still owes it to JetStream.
 * One short statement per batch (index range scan on outbox_published_idx), and rows another
 * transaction holds are skipped rather than waited for.
 */
export async function deleteSentOutbox(sql: SqlRunner, before: Date, limit: number): Promise<number> {
  const [row] = await sql.query<{ n: number }>(
    `WITH gone AS (
       DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at IS NOT NULL AND published_at < $1
         ORDER BY published_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [before, limit],
    'retention_outbox',
  );
  return row?.n ?? 0;
}

/** Deletes up to `limit` processed-event markers recorded before `before`, oldest first; returns how many. */
export async function deleteProcessedEvents(sql: SqlRunner, before: Date, limit: number): Promise<number> {
  const [row] = await sql.query<{ n: number }>(
    `WITH gone AS (
       DELETE FROM processed_events WHERE (consumer, event_id) IN (
         SELECT consumer, event_id FROM processed_events WHERE processed_at < $1
         ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [before, limit],
    'retention_processed',
  );
  return row?.n ?? 0;
}
