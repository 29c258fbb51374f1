import { z } from 'zod';
import { BlockId, PrincipalId, TaskId } from '../ids.js';
import { TaskPriority, TaskStatus } from '../tasks.js';

export const TaskEvent = z.object({
  taskId: TaskId,
  ownerId: PrincipalId,
  status: TaskStatus,
  priority: TaskPriority,
  parentId: TaskId.nullable(),
  blockId: BlockId.nullable(),
});

/** Subjects the operations service publishes (stream OPERATIONS_EVENTS, `operations.>`). */
export const operationsEvents = {
  'operations.task.created': TaskEvent,
  'operations.task.completed': TaskEvent,
} as const;
