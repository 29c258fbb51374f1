import { startOutboxRelay, type JetStreamClient, type Logger, type OutboxRelay, type OutboxSignal } from '@platform/kit';
import { markPublished, pendingOutbox } from '../store/outbox.js';
import type { Db } from '../store/prisma.js';

/**
 * Relays the outbox table to JetStream: at once when a transaction that inserted outbox rows commits
 * (`outboxWritten`, rung by the write listener from the outbox trigger's NOTIFY: see
 * store/write-listener.ts), and every `intervalMs` as a safety net.
 */
export function startOperationsOutbox(
  db: Db,
  outboxWritten: OutboxSignal,
  js: JetStreamClient,
  log: Logger,
  intervalMs: number,
): OutboxRelay {
  return startOutboxRelay({
    source: { pending: (limit) => pendingOutbox(db, limit), markPublished: (ids) => markPublished(db, ids) },
    signal: outboxWritten,
    js,
    log: log.child({ component: 'outbox' }),
    intervalMs,
  });
}
