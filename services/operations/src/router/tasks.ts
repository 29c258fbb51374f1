import { BlockId, SessionId, TaskId, TaskPriority, TaskStatus } from '@platform/contracts';
import { z } from 'zod';
import { createTask, getTask, type TaskDeps } from '../domain/tasks.js';
import type { TaskRow, TaskTree } from '../store/tasks.js';
import { authedProcedure, router } from '../trpc.js';

const TaskFields = {
  id: TaskId,
  title: z.string(),
  description: z.string().nullable(),
  status: TaskStatus,
  priority: TaskPriority,
  ownerId: z.string(),
  sessionId: z.string().nullable(),
  blockId: z.string().nullable(),
  parentId: TaskId.nullable(),
  completedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
};
export const Task = z.object(TaskFields);
export const TaskWithSubtasks = z.object({ ...TaskFields, subtasks: z.array(Task) });

const Title = z.string().trim().min(1).max(500);
const Description = z.string().max(20_000).optional();

export const CreateTaskInput = z.strictObject({
  title: Title,
  description: Description,
  priority: TaskPriority.default('P2'),
  sessionId: SessionId.optional(),
  blockId: BlockId.optional(),
  subtasks: z.array(z.strictObject({ title: Title, description: Description, priority: TaskPriority.default('P2') })).max(100).default([]),
});

/** Dates go over the wire as ISO strings (no transformer: plain JSON for non-TypeScript callers). */
const toTask = (t: TaskRow): z.infer<typeof Task> => ({
  id: t.id,
  title: t.title,
  description: t.description,
  status: t.status,
  priority: t.priority,
  ownerId: t.ownerId,
  sessionId: t.sessionId,
  blockId: t.blockId,
  parentId: t.parentId,
  completedAt: t.completedAt?.toISOString() ?? null,
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt.toISOString(),
});
const toTree = (t: TaskTree) => ({ ...toTask(t), subtasks: t.subtasks.map(toTask) });

export function tasksRouter(deps: TaskDeps & { afterWrite: () => void }) {
  return router({
    create: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/tasks/create', protect: true, tags: ['tasks'], summary: 'Create a task with nested subtasks' } })
      .input(CreateTaskInput)
      .output(TaskWithSubtasks)
      .mutation(async ({ ctx, input }) => {
        const task = await createTask(deps, ctx.principal, input);
        deps.afterWrite();
        return toTree(task);
      }),
    get: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/tasks/get', protect: true, tags: ['tasks'], summary: 'Get a task and its subtasks' } })
      .input(z.strictObject({ id: TaskId }))
      .output(TaskWithSubtasks)
      .query(async ({ ctx, input }) => toTree(await getTask(deps, ctx.principal, input.id))),
  });
}
