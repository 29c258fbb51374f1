import { DURABLES, type Principal, TaskId, type TypedEnvelope } from '@platform/contracts';

import { DomainError, type Logger } from '@platform/kit';
import { markProcessed } from '../store/inbox.js';
import { asUser } from '../store/scope.js';
import type { CoreDeps } from './deps.js';
import { changeTaskStatus } from './tasks.js';

export interface JobResultDeps extends CoreDeps {
  log: Logger;
}

export type JobResultOutcome = 'applied' | 'duplicate' | 'ignored' | 'refused';

/** Refusals the task rules give (the owner cannot see the task, may not change it, or the transition is not allowed): final, so the event is acked. */
const REFUSALS = new Set(['NOT_FOUND', 'FORBIDDEN', 'CONFLICT']);

/**
 * A job for a task succeeded: the task is done — if the job's owner may still make it so. The
 * result is applied AS THE JOB'S OWNER (the principal that triggered the job, carried in the
 * event), under row-level security and the normal task rules (owner or team member, allowed
 * transition), never as an all-powerful system actor: a job cannot do to a task what its owner
 * could not. An event without an owner (from before jobs had owners) is not applied.
 * The processed-event row commits with the change (or with the refusal), so a redelivered event
 * changes nothing.
 */
export async function onJobSucceeded(deps: JobResultDeps, event: TypedEnvelope<'coordination.job.succeeded'>): Promise<JobResultOutcome> {
  const { targetKind, targetId, jobId, owner } = event.data;
  if (targetKind !== 'task' || !targetId || !TaskId.safeParse(targetId).success) return 'ignored';
  if (!owner) {
    deps.log.warn(
      { eventId: event.id, jobId, taskId: targetId },
      'job result without an owner (an event from before jobs had owners): not applied to the task',
    );
    return 'refused';
  }
  // Roles are not in the event: they only matter for what operations grants platform admins, and
  // a task's owner and team rules do not look at them.
  const principal: Principal = { kind: owner.kind, id: owner.id, roles: [] };
  // No just-in-time provisioning: an owner operations has never seen owns no task and is in no team.
  return asUser(deps.db, principal, async (s) => {
    if (!(await markProcessed(s.tx, DURABLES.operationsJobResults, event.id))) return 'duplicate';
    try {
      const { changed } = await changeTaskStatus(deps, s, targetId, 'done');
      return changed ? 'applied' : 'ignored';
    } catch (err) {
      // Thrown by the rules before any write, so the transaction (and the processed-event row) stands.
      if (!(err instanceof DomainError && REFUSALS.has(err.code))) throw err;
      deps.log.warn(
        { eventId: event.id, jobId, taskId: targetId, owner, reason: err.message },
        'job result not applied: its owner may not make the task done',
      );
      return 'refused';
    }
  });
}
