import { startOutboxRelay, type JetStreamClient, type Logger, type OutboxRelay } from '@platform/kit';
import { markPublished, pendingOutbox } from '../store/outbox.js';
import type { Db } from '../store/prisma.js';

/** Relays the outbox table to JetStream. */
export function startOperationsOutbox(db: Db, js: JetStreamClient, log: Logger, intervalMs: number): OutboxRelay {
  return startOutboxRelay({
    source: { pending: (limit) => pendingOutbox(db, limit), markPublished: (ids) => markPublished(db, ids) },
    js,
    log: log.child({ component: 'outbox' }),
    intervalMs,
  });
}
