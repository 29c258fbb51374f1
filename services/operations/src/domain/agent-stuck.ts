import type { TypedEnvelope } from '@platform/contracts';
import { createEnvelope, type Logger } from '@platform/kit';
import { findPendingFor, insertEscalation } from '../store/approvals.js';
import { markProcessed } from '../store/inbox.js';
import { appendOutbox } from '../store/outbox.js';
import { asSystem } from '../store/scope.js';
import { approvalEventData } from './approvals.js';
import type { CoreDeps } from './deps.js';
import { DURABLES } from '@platform/contracts';

export const AGENT_STUCK_SUBJECT_KIND = 'agent_stuck';

export interface AgentStuckDeps extends CoreDeps {
  log: Logger;
}

/**
 * Coordination says an agent is stuck: open an escalation (an approval request of kind `agent_stuck`,
 * decided by platform admins) for its job — or for the agent when it has no job. Idempotent twice over:
 * the event id is recorded in the same transaction (a redelivery changes nothing), and while an
 * escalation for the same subject is pending a new report joins it instead of opening another.
 * Runs as the `agent-stuck` system actor, whose only write permission is opening such escalations.
 */
export async function onAgentStuck(
  deps: AgentStuckDeps,
  event: TypedEnvelope<'coordination.agent.stuck'>,
): Promise<'escalated' | 'already_escalated' | 'duplicate'> {
  const { agent, jobId, reason, reportedAt } = event.data;
  const subjectId = jobId ?? agent;
  return asSystem(deps.db, 'agent-stuck', async (s) => {
    if (!(await markProcessed(s.tx, DURABLES.operationsAgentStuck, event.id))) return 'duplicate';
    if (await findPendingFor(s, AGENT_STUCK_SUBJECT_KIND, subjectId)) return 'already_escalated';
    const escalation = await insertEscalation(s, {
      subjectKind: AGENT_STUCK_SUBJECT_KIND,
      subjectId,
      requestedBy: agent,
      reason,
      context: { agent, jobId, reportedAt, eventId: event.id },
    });
    await appendOutbox(
      s.tx,
      createEnvelope('operations', 'operations.approval.requested', approvalEventData(escalation), { ...deps, causationId: event.id }),
    );
    return 'escalated';
  });
}
