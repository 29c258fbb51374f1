import { TaskId, type TypedEnvelope } from '@platform/contracts';
import { createEnvelope, type Logger } from '@platform/kit';
import { markProcessed } from '../store/inbox.js';
import { appendOutbox } from '../store/outbox.js';
import { asSystem } from '../store/scope.js';
import { lockTask, setTaskStatus } from '../store/tasks.js';
import type { CoreDeps } from './deps.js';
import { taskEventData } from './tasks.js';

export const JOB_RESULTS_CONSUMER = 'operations-job-results';

export interface JobResultDeps extends CoreDeps {
  log: Logger;
}

/**
 * A job for a task succeeded: the task is done. The processed-event row, the status change and
 * the task.completed event commit together, so a redelivered event changes nothing.
 * Runs as the `job-results` system actor: row-level security lets it read and update any task
 * (and nothing else), because the event comes from coordination, not from the task's owner.
 */
export async function onJobSucceeded(deps: JobResultDeps, event: TypedEnvelope<'coordination.job.succeeded'>): Promise<'applied' | 'duplicate' | 'ignored'> {
  const { targetKind, targetId, jobId } = event.data;
  if (targetKind !== 'task' || !TaskId.safeParse(targetId).success || !targetId) return 'ignored';
  return asSystem(deps.db, 'job-results', async (s) => {
    if (!(await markProcessed(s.tx, JOB_RESULTS_CONSUMER, event.id))) return 'duplicate';
    const task = await lockTask(s, targetId);
    if (!task) {
      deps.log.warn({ jobId, taskId: targetId }, 'job succeeded for an unknown task; nothing to do');
      return 'ignored';
    }
    if (task.status === 'done') return 'ignored';
    const done = await setTaskStatus(s, task.id, 'done', deps.clock());
    await appendOutbox(s.tx, createEnvelope('operations', 'operations.task.completed', taskEventData(done), { ...deps, causationId: event.id }));
    return 'applied';
  });
}
