import { consumeEvents, type Logger, type NatsConnection, type RunningConsumer } from '@platform/kit';
import pRetry from 'p-retry';
import { AGENT_STUCK_CONSUMER, onAgentStuck, type AgentStuckDeps } from '../domain/agent-stuck.js';
import { COORDINATION_STREAM } from './streams.js';

/**
 * Escalates stuck agents: a durable consumer of `coordination.agent.stuck`, so a report sent while
 * operations is down is handled when it comes back (coordination does not call us; it publishes).
 * Waits (with backoff) for coordination to have created its stream, so the services can start in
 * any order.
 */
export function startAgentStuckConsumer(nc: NatsConnection, deps: AgentStuckDeps, log: Logger): Promise<RunningConsumer> {
  return pRetry(
    () =>
      consumeEvents({
        nc,
        stream: COORDINATION_STREAM,
        durable: AGENT_STUCK_CONSUMER,
        subjects: ['coordination.agent.stuck'],
        log,
        handler: async (event) => {
          const outcome = await onAgentStuck(deps, event);
          log.info({ eventId: event.id, agent: event.data.agent, jobId: event.data.jobId, outcome }, 'agent stuck report handled');
        },
      }),
    {
      retries: 60,
      minTimeout: 500,
      maxTimeout: 5_000,
      onFailedAttempt: ({ error }) => log.warn({ err: error.message }, 'agent stuck consumer not ready; retrying'),
    },
  );
}
