import type { Logger, NatsConnection, RunningConsumer, StreamLimits, StreamReplicas } from '@platform/kit';
import { onAgentStuck, type AgentStuckDeps } from '../domain/agent-stuck.js';
import { consumeCoordinationEvents } from './coordination-consumer.js';
import { DURABLES } from '@platform/contracts';

/**
 * Escalates stuck agents: a durable consumer of `coordination.agent.stuck`, so a report sent while
 * operations is down is handled when it comes back (coordination does not call us; it publishes).
 */
export function startAgentStuckConsumer(
  nc: NatsConnection,
  deps: AgentStuckDeps,
  log: Logger,
  deadLetterLimits?: StreamLimits,
  replicas?: StreamReplicas,
): Promise<RunningConsumer> {
  return consumeCoordinationEvents({
    nc,
    durable: DURABLES.operationsAgentStuck,
    subjects: ['coordination.agent.stuck'],
    log,
    ...(deadLetterLimits ? { deadLetterLimits } : {}),
    ...(replicas ? { replicas } : {}),
    handler: async (event) => {
      const outcome = await onAgentStuck(deps, event);
      log.info({ eventId: event.id, agent: event.data.agent, jobId: event.data.jobId, outcome }, 'agent stuck report handled');
    },
  });
}
