import type { Tx } from './prisma.js';

/**
 * Records that `consumer` handled `eventId`, in the transaction of the effect. Returns false when
 * it was already recorded: the caller then skips the effect (idempotent consumer).
 */
export async function markProcessed(tx: Tx, consumer: string, eventId: string): Promise<boolean> {
  const inserted = await tx.$executeRaw`
    INSERT INTO processed_events (consumer, event_id) VALUES (${consumer}, ${eventId})
    ON CONFLICT DO NOTHING`;
  return inserted === 1;
}
