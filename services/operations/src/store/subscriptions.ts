import type { Db, Tx } from './prisma.js';

/** Checkpoint of a named event-store subscription; created at `from` the first time. */
export async function loadCheckpoint(db: Db, name: string, from: number): Promise<number> {
  const [row] = await db.$queryRaw<Array<{ position: bigint }>>`
    INSERT INTO event_subscriptions (name, position) VALUES (${name}, ${from})
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
    RETURNING position`;
  return Number(row!.position);
}

/**
 * Moves the checkpoint from `expected` to `next` in the handler's transaction: the handler's effects
 * and the checkpoint commit together (exactly-once for database effects), and a second instance of
 * the same subscription that handled the same batch finds the checkpoint moved and rolls back.
 */
export async function advanceCheckpoint(tx: Tx, name: string, expected: number, next: number): Promise<boolean> {
  const n = await tx.$executeRaw`UPDATE event_subscriptions SET position = ${next} WHERE name = ${name} AND position = ${expected}`;
  return n === 1;
}
