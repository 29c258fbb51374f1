import type { AgentStatus } from '@platform/contracts';
import { createEnvelope, type Clock, type IdGenerator } from '@platform/kit';
import type { PendingMessage } from '../store/outbox-store.js';

const statusSubject = {
  online: 'coordination.agent.online',
  stale: 'coordination.agent.stale',
  offline: 'coordination.agent.offline',
} as const satisfies Record<AgentStatus, string>;

type Deps = { clock: Clock; newId: IdGenerator };
const toPending = (env: { id: string; subject: string; traceparent?: string | undefined }): PendingMessage => ({
  subject: env.subject,
  msgId: env.id,
  payload: JSON.stringify(env),
  ...(env.traceparent ? { traceparent: env.traceparent } : {}),
});

export function agentStatusEvent(deps: Deps, agent: string, status: AgentStatus, lastPingAt: string): PendingMessage {
  return toPending(createEnvelope('coordination', statusSubject[status], { agent, status, lastPingAt }, deps));
}

export function agentStuckEvent(deps: Deps, agent: string, jobId: string | null, reason: string, reportedAt: string): PendingMessage {
  return toPending(createEnvelope('coordination', 'coordination.agent.stuck', { agent, jobId, reason, reportedAt }, deps));
}
