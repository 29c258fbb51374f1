import { startOutboxRelay, type JetStreamClient, type Logger, type OutboxRelay } from '@platform/kit';
import type { Graph } from '../store/neo4j.js';
import { deleteOutbox, pendingOutbox } from '../store/outbox.js';

/**
 * Relays (:Outbox) nodes written with each change to JetStream: at once when a write that made some
 * commits (graph.outboxWritten, rung by writeTx), and every `intervalMs` as a safety net.
 */
export function startKnowledgeOutbox(graph: Graph, js: JetStreamClient, log: Logger, intervalMs: number): OutboxRelay {
  return startOutboxRelay({
    source: { pending: (limit) => pendingOutbox(graph, limit), markPublished: (ids) => deleteOutbox(graph, ids) },
    signal: graph.outboxWritten,
    js,
    log: log.child({ component: 'outbox' }),
    intervalMs,
  });
}
