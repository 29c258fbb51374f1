import { startOutboxRelay, type JetStreamClient, type Logger, type OutboxRelay } from '@platform/kit';
import type { Graph } from '../store/neo4j.js';
import { deleteOutbox, pendingOutbox } from '../store/outbox.js';

/** Relays (:Outbox) nodes written with each change to JetStream. */
export function startKnowledgeOutbox(graph: Graph, js: JetStreamClient, log: Logger, intervalMs: number): OutboxRelay {
  return startOutboxRelay({
    source: { pending: (limit) => pendingOutbox(graph, limit), markPublished: (ids) => deleteOutbox(graph, ids) },
    js,
    log: log.child({ component: 'outbox' }),
    intervalMs,
  });
}
