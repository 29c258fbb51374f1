import type { EventSubject, TypedEnvelope } from '@platform/contracts';
import neo4j, { type ManagedTransaction } from 'neo4j-driver';
import type { Graph } from './neo4j.js';
import { markOutboxWrite, readGraph, writeTx } from './neo4j.js';

/**
 * Writes the event in the same transaction as the change it announces, so a crash between the
 * Neo4j commit and the JetStream publish loses nothing: the relay publishes it later. The relay
 * hears of it when the transaction commits (writeTx rings graph.outboxWritten).
 */
export async function appendOutbox(tx: ManagedTransaction, envelope: TypedEnvelope<EventSubject>): Promise<void> {
  markOutboxWrite(tx);
  await tx.run('CREATE (:Outbox {id: $id, subject: $subject, envelope: $json, createdAt: datetime($occurredAt)})', {
    id: envelope.id,
    subject: envelope.subject,
    json: JSON.stringify(envelope),
    occurredAt: envelope.occurredAt,
  });
}

/** Several events of one change (a batch, a supersede) in one statement, same transaction. */
export async function appendOutboxMany(tx: ManagedTransaction, envelopes: Array<TypedEnvelope<EventSubject>>): Promise<void> {
  if (envelopes.length === 0) return;
  markOutboxWrite(tx);
  await tx.run(
    `UNWIND $rows AS r
     CREATE (:Outbox {id: r.id, subject: r.subject, envelope: r.json, createdAt: datetime(r.occurredAt)})`,
    { rows: envelopes.map((e) => ({ id: e.id, subject: e.subject, json: JSON.stringify(e), occurredAt: e.occurredAt })) },
  );
}

export interface PendingEvent {
  id: string;
  json: string;
}

export function pendingOutbox(g: Graph, limit: number): Promise<PendingEvent[]> {
  return readGraph(g, 'outbox.pending', async (tx) => {
    const res = await tx.run('MATCH (o:Outbox) RETURN o.id AS id, o.envelope AS json ORDER BY o.createdAt LIMIT $limit', {
      limit: neo4j.int(limit),
    });
    // Another replica's relay may delete a node between this MATCH and the property read (read
    // committed): its envelope reads as null. That node was sent already; skip it instead of failing
    // the whole pass (which, with two replicas, happened on most passes under load).
    return res.records
      .map((r) => ({ id: r.get('id') as string | null, json: r.get('json') as string | null }))
      .filter((r): r is PendingEvent => r.id !== null && r.json !== null);
  });
}

/** Published events are deleted: JetStream holds the history, the outbox only what is in flight. */
export function deleteOutbox(g: Graph, ids: string[]): Promise<void> {
  return writeTx(g, 'outbox.delete', async (tx) => {
    await tx.run('MATCH (o:Outbox) WHERE o.id IN $ids DELETE o', { ids });
  });
}

/**
 * What the outbox still owes, for the backlog gauges: a count (from the label's count store) and
 * the oldest createdAt (from the `outbox_created` range index). Nodes are deleted once sent, so
 * every node is unsent. Read at scrape time, never on a request path.
 */
export function outboxBacklog(g: Graph): Promise<{ backlog: number; oldestMs: number | null }> {
  return readGraph(g, 'outbox.backlog', async (q) => {
    const res = await q.run('MATCH (o:Outbox) RETURN count(o) AS backlog, min(o.createdAt).epochMillis AS oldestMs');
    const row = res.records[0];
    return { backlog: Number(row?.get('backlog') ?? 0), oldestMs: (row?.get('oldestMs') as number | null) ?? null };
  });
}
