import { openApiMeta } from '@platform/kit';
import { BlockId, TaskId, TaskPriority, TaskStatus } from '@platform/contracts';
import { z } from 'zod';
import { createTask, deleteTask, editTask, getTask, listTasks, moveTask, updateTaskStatus, type TaskDeps } from '../domain/tasks.js';
import type { TaskRow, TaskTree } from '../store/tasks.js';
import { authedProcedure, router } from '../trpc.js';
import { Cursor, DateTime, iso, isoOrNull, Limit, pageOf, toPage } from './wire.js';

const meta = openApiMeta('tasks');

const TaskFields = {
  id: TaskId,
  title: z.string(),
  description: z.string().nullable(),
  status: TaskStatus,
  priority: TaskPriority,
  ownerId: z.string(),
  teamId: z.uuid().nullable(),
  sessionId: z.string().nullable(),
  blockId: z.string().nullable(),
  parentId: TaskId.nullable(),
  completedAt: z.string().nullable(),
  dueAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
};
export const Task = z.object(TaskFields);
/** A task with its direct subtasks in sibling order: at most 500 (`subtasksTruncated` when it has more; page them with tasks.list `parentId`). */
export const TaskWithSubtasks = z.object({ ...TaskFields, subtasks: z.array(Task), subtasksTruncated: z.boolean() });
/** tasks.get: also whether the caller may change the task (other services ask this as the caller). */
export const TaskForCaller = TaskWithSubtasks.extend({ mayChange: z.boolean() });

const Title = z.string().trim().min(1).max(500);
const Description = z.string().max(20_000).optional();

export const CreateTaskInput = z.strictObject({
  title: Title,
  description: Description,
  priority: TaskPriority.default('P2'),
  /** Share the task (and its subtasks) with a team the caller is a member (or admin/owner) of. */
  teamId: z.uuid().optional(),
  /** One of the caller's sessions (sessions.create). */
  sessionId: z.uuid().optional(),
  blockId: BlockId.optional(),
  /** When the task should be done (ISO 8601 with offset). */
  dueAt: DateTime.optional(),
  subtasks: z
    .array(z.strictObject({ title: Title, description: Description, priority: TaskPriority.default('P2') }))
    .max(100)
    .default([]),
});

/** tasks.edit: the fields to change (at least one); null clears the description or the due date. */
export const EditTaskInput = z
  .strictObject({
    id: TaskId,
    title: Title.optional(),
    description: z.string().max(20_000).nullable().optional(),
    priority: TaskPriority.optional(),
    dueAt: DateTime.nullable().optional(),
  })
  .refine((i) => i.title !== undefined || i.description !== undefined || i.priority !== undefined || i.dueAt !== undefined, {
    message: 'give at least one of title, description, priority, dueAt',
    path: ['title'],
  });

/** tasks.delete: the deleted task and every deleted task of its tree, deepest first (the task itself last). */
export const DeletedTasks = z.object({ id: TaskId, deletedTaskIds: z.array(TaskId).min(1) });

const toTask = (t: TaskRow): z.infer<typeof Task> => ({
  id: t.id,
  title: t.title,
  description: t.description,
  status: t.status,
  priority: t.priority,
  ownerId: t.ownerId,
  teamId: t.teamId,
  sessionId: t.sessionId,
  blockId: t.blockId,
  parentId: t.parentId,
  completedAt: isoOrNull(t.completedAt),
  dueAt: isoOrNull(t.dueAt),
  createdAt: iso(t.createdAt),
  updatedAt: iso(t.updatedAt),
});
const toTree = (t: TaskTree) => ({ ...toTask(t), subtasks: t.subtasks.map(toTask), subtasksTruncated: t.subtasksTruncated });

export function tasksRouter(deps: TaskDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/tasks/create', 'Create a task with nested subtasks'))
      .input(CreateTaskInput)
      .output(TaskWithSubtasks)
      .mutation(async ({ ctx, input }) =>
        toTree(await createTask(deps, ctx.principal, { ...input, dueAt: input.dueAt === undefined ? undefined : new Date(input.dueAt) })),
      ),
    get: authedProcedure
      .meta(meta('GET', '/tasks/get', 'Get a task and its subtasks, and whether the caller may change it'))
      .input(z.strictObject({ id: TaskId }))
      .output(TaskForCaller)
      .query(async ({ ctx, input }) => {
        const task = await getTask(deps, ctx.principal, input.id);
        return { ...toTree(task), mayChange: task.mayChange };
      }),
    list: authedProcedure
      .meta(meta('GET', '/tasks/list', 'Visible tasks (own and teams’) by status, priority, owner, team or parent, newest first'))
      .input(
        z.strictObject({
          status: TaskStatus.optional(),
          priority: TaskPriority.optional(),
          ownerId: z.string().min(1).max(200).optional(),
          teamId: z.uuid().optional(),
          /** A task id for its direct subtasks, or `root` for top-level tasks only. */
          parentId: z.union([TaskId, z.literal('root')]).optional(),
          cursor: Cursor,
          limit: Limit,
        }),
      )
      .output(pageOf(Task))
      .query(async ({ ctx, input }) => {
        const parentId = input.parentId === 'root' ? null : input.parentId;
        return toPage(await listTasks(deps, ctx.principal, { ...input, parentId }), toTask);
      }),
    updateStatus: authedProcedure
      .meta(meta('POST', '/tasks/update-status', 'Change a task’s status along the allowed transitions'))
      .input(z.strictObject({ id: TaskId, status: TaskStatus }))
      .output(Task)
      .mutation(async ({ ctx, input }) => toTask(await updateTaskStatus(deps, ctx.principal, input.id, input.status))),
    edit: authedProcedure
      .meta(meta('POST', '/tasks/edit', 'Change a task’s title, description, priority or due date (who may change its status may edit it)'))
      .input(EditTaskInput)
      .output(Task)
      .mutation(async ({ ctx, input }) => {
        const { id, dueAt, ...rest } = input;
        return toTask(
          await editTask(deps, ctx.principal, id, {
            ...rest,
            dueAt: dueAt === undefined ? undefined : dueAt === null ? null : new Date(dueAt),
          }),
        );
      }),
    delete: authedProcedure
      .meta(
        meta(
          'POST',
          '/tasks/delete',
          'Delete a task with all its subtasks (its owner only; refused while the tree holds someone else’s task)',
        ),
      )
      .input(z.strictObject({ id: TaskId }))
      .output(DeletedTasks)
      .mutation(({ ctx, input }) => deleteTask(deps, ctx.principal, input.id)),
    move: authedProcedure
      .meta(meta('POST', '/tasks/move', 'Move a task under another parent (null: top level); cycles are refused'))
      .input(z.strictObject({ id: TaskId, parentId: TaskId.nullable() }))
      .output(TaskWithSubtasks)
      .mutation(async ({ ctx, input }) => toTree(await moveTask(deps, ctx.principal, input.id, input.parentId))),
  });
}
