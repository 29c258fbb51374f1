import type { EventSubject, TypedEnvelope } from '@platform/contracts';
import type { Db, Tx } from './prisma.js';
import type { SqlRunner } from './sql.js';

/** Written in the caller's transaction, so the event commits (or not) with the change it announces. */
export async function appendOutbox(tx: Tx, envelope: TypedEnvelope<EventSubject>): Promise<void> {
  await tx.outbox.create({ data: { id: envelope.id, subject: envelope.subject, envelope: envelope as object }, select: { id: true } });
}

/** appendOutbox for code running in a SqlPool transaction. */
export async function appendOutboxSql(sql: SqlRunner, envelope: TypedEnvelope<EventSubject>): Promise<void> {
  await sql.query(
    `INSERT INTO outbox (id, subject, envelope) VALUES ($1, $2, $3)`,
    [envelope.id, envelope.subject, JSON.stringify(envelope)],
    'outbox_insert',
  );
}

/** Oldest first; within one transaction (same created_at) in the order the rows were written. */
export async function pendingOutbox(db: Db, limit: number): Promise<Array<{ id: string; json: string }>> {
  const rows = await db.outbox.findMany({
    where: { publishedAt: null },
    orderBy: [{ createdAt: 'asc' }, { seq: 'asc' }],
    take: limit,
    select: { id: true, envelope: true },
  });
  return rows.map((r) => ({ id: r.id, json: JSON.stringify(r.envelope) }));
}

export async function markPublished(db: Db, ids: string[]): Promise<void> {
  await db.outbox.updateMany({ where: { id: { in: ids } }, data: { publishedAt: new Date(), attempts: { increment: 1 } } });
}

/**
 * What the outbox still owes, for the backlog gauges: one statement that only reads the partial
 * index `outbox_unpublished_idx` (unpublished rows only), however large the published history.
 */
export async function outboxBacklog(sql: SqlRunner): Promise<{ backlog: number; oldest: Date | null }> {
  const [row] = await sql.query<{ backlog: number; oldest: Date | null }>(
    'SELECT count(*)::int AS backlog, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL',
    [],
    'outbox_backlog',
  );
  return { backlog: row?.backlog ?? 0, oldest: row?.oldest ?? null };
}
