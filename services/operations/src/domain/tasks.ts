import type { Principal } from '@platform/contracts';
import { badRequest, createEnvelope, notFound, withSpan, type Clock, type IdGenerator } from '@platform/kit';
import type { KnowledgePort } from '../clients/knowledge.js';
import { appendOutbox } from '../store/outbox.js';
import type { Db } from '../store/prisma.js';
import { findTaskTree, insertTaskTree, type NewTask, type TaskRow, type TaskTree } from '../store/tasks.js';

export interface TaskDeps {
  db: Db;
  knowledge: KnowledgePort;
  clock: Clock;
  newId: IdGenerator;
}

export const taskEventData = (t: TaskRow) => ({
  taskId: t.id,
  ownerId: t.ownerId,
  status: t.status,
  priority: t.priority,
  parentId: t.parentId,
  blockId: t.blockId,
});

/**
 * Creates a task with its subtasks in one transaction, with its event in the outbox. A `blockId`
 * must name an existing knowledge block: it is checked first, and an unknown one writes nothing.
 */
export async function createTask(deps: TaskDeps, principal: Principal, input: NewTask): Promise<TaskTree> {
  if (input.blockId !== undefined) {
    const exists = await withSpan('knowledge.blocks.get', { attributes: { 'block.id': input.blockId } }, () => deps.knowledge.blockExists(input.blockId!));
    if (!exists) throw badRequest(`block ${input.blockId} does not exist`, { blockId: input.blockId });
  }
  return deps.db.$transaction(async (tx) => {
    const task = await insertTaskTree(tx, principal.id, input);
    for (const t of [task, ...task.subtasks]) {
      await appendOutbox(tx, createEnvelope('operations', 'operations.task.created', taskEventData(t), deps));
    }
    return task;
  });
}

export async function getTask(deps: TaskDeps, principal: Principal, id: string): Promise<TaskTree> {
  const task = await findTaskTree(deps.db, id, principal.id);
  if (!task) throw notFound('task', id);
  return task;
}
