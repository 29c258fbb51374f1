import { TaskId, type TypedEnvelope } from '@platform/contracts';
import { createEnvelope, type Clock, type IdGenerator, type Logger } from '@platform/kit';
import { markProcessed } from '../store/inbox.js';
import { appendOutbox } from '../store/outbox.js';
import type { Db } from '../store/prisma.js';
import { lockTask, setTaskStatus } from '../store/tasks.js';
import { taskEventData } from './tasks.js';

export const JOB_RESULTS_CONSUMER = 'operations-job-results';

export interface JobResultDeps {
  db: Db;
  clock: Clock;
  newId: IdGenerator;
  log: Logger;
}

/**
 * A job for a task succeeded: the task is done. The processed-event row, the status change and
 * the task.completed event commit together, so a redelivered event changes nothing.
 */
export async function onJobSucceeded(deps: JobResultDeps, event: TypedEnvelope<'coordination.job.succeeded'>): Promise<'applied' | 'duplicate' | 'ignored'> {
  const { targetKind, targetId, jobId } = event.data;
  if (targetKind !== 'task' || !TaskId.safeParse(targetId).success || !targetId) return 'ignored';
  return deps.db.$transaction(async (tx) => {
    if (!(await markProcessed(tx, JOB_RESULTS_CONSUMER, event.id))) return 'duplicate';
    const task = await lockTask(tx, targetId);
    if (!task) {
      deps.log.warn({ jobId, taskId: targetId }, 'job succeeded for an unknown task; nothing to do');
      return 'ignored';
    }
    if (task.status === 'done') return 'ignored';
    const done = await setTaskStatus(tx, task.id, 'done', deps.clock());
    await appendOutbox(tx, createEnvelope('operations', 'operations.task.completed', taskEventData(done), { ...deps, causationId: event.id }));
    return 'applied';
  });
}
