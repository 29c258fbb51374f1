import type { TaskPriority, TaskStatus } from '@platform/contracts';
import type { Prisma } from '../generated/prisma/client.js';
import { afterCursor, keysetOrder, toPage, type Page } from './pagination.js';
import type { SystemScope, UserScope } from './scope.js';

export interface TaskRow {
  id: string;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  ownerId: string;
  teamId: string | null;
  sessionId: string | null;
  blockId: string | null;
  parentId: string | null;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
/** A task with (at most SUBTASK_LIMIT of) its direct subtasks; `subtasksTruncated` when it has more. */
export type TaskTree = TaskRow & { subtasks: TaskRow[]; subtasksTruncated: boolean };

/**
 * The most subtasks a task read carries (the rest page through tasks.list with `parentId`): creation
 * adds at most 100 at once, so only a task grown by many moves or saga steps reaches it.
 */
export const SUBTASK_LIMIT = 500;

export interface NewTask {
  /** Set by callers that need a deterministic id (an idempotent saga step); Postgres generates it otherwise. */
  id?: string | undefined;
  title: string;
  description?: string | undefined;
  priority: TaskPriority;
  teamId?: string | undefined;
  sessionId?: string | undefined;
  blockId?: string | undefined;
  parentId?: string | undefined;
  subtasks: Array<{ title: string; description?: string | undefined; priority: TaskPriority }>;
}

/** Subtasks in sibling order, one more than the limit (so a cut is known without counting). */
const subtasksInOrder = { subtasks: { orderBy: [{ siblingOrder: 'asc' }, { createdAt: 'asc' }, { id: 'asc' }], take: SUBTASK_LIMIT + 1 } } satisfies Prisma.TaskInclude;

const capSubtasks = <T extends { subtasks: TaskRow[] }>(t: T): T & { subtasksTruncated: boolean } => ({
  ...t,
  subtasks: t.subtasks.slice(0, SUBTASK_LIMIT),
  subtasksTruncated: t.subtasks.length > SUBTASK_LIMIT,
});

/** What a user may see: own tasks and tasks of their teams (the explicit filter; RLS enforces it again). */
export const visibleTo = (userId: string): Prisma.TaskWhereInput => ({
  OR: [{ ownerId: userId }, { team: { memberships: { some: { userId } } } }],
});

/** Task and subtasks in one nested create: one statement batch, one transaction. */
export async function insertTaskTree(s: UserScope, t: NewTask): Promise<TaskTree> {
  const shared = { ownerId: s.userId, teamId: t.teamId ?? null, sessionId: t.sessionId ?? null };
  const created = await s.tx.task.create({
    data: {
      ...(t.id ? { id: t.id } : {}),
      title: t.title,
      description: t.description ?? null,
      priority: t.priority,
      ...shared,
      blockId: t.blockId ?? null,
      parentId: t.parentId ?? null,
      subtasks: { create: t.subtasks.map((sub, i) => ({ ...sub, description: sub.description ?? null, ...shared, siblingOrder: i })) },
    },
    include: subtasksInOrder,
  });
  return capSubtasks(created);
}

export async function findTaskTree(s: UserScope, id: string): Promise<TaskTree | null> {
  const found = await s.tx.task.findFirst({ where: { id, ...visibleTo(s.userId) }, include: subtasksInOrder });
  return found ? capSubtasks(found) : null;
}

export interface TaskFilter {
  status?: TaskStatus | undefined;
  priority?: TaskPriority | undefined;
  ownerId?: string | undefined;
  teamId?: string | undefined;
  parentId?: string | null | undefined;
  cursor?: string | undefined;
  limit: number;
}

export async function listTasks(s: UserScope, f: TaskFilter): Promise<Page<TaskRow>> {
  const rows = await s.tx.task.findMany({
    where: {
      AND: [
        visibleTo(s.userId),
        {
          ...(f.status ? { status: f.status } : {}),
          ...(f.priority ? { priority: f.priority } : {}),
          ...(f.ownerId ? { ownerId: f.ownerId } : {}),
          ...(f.teamId ? { teamId: f.teamId } : {}),
          ...(f.parentId !== undefined ? { parentId: f.parentId } : {}),
        },
        afterCursor(f.cursor),
      ],
    },
    orderBy: [...keysetOrder()],
    take: f.limit + 1,
  });
  return toPage(rows, f.limit);
}

/**
 * Locks a visible task for the rest of the transaction (concurrent status changes serialize).
 * Works for users (RLS: visible and updatable rows) and for the job-results system actor.
 */
export async function lockTask(s: UserScope | SystemScope, id: string): Promise<TaskRow | null> {
  const rows = await s.tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM tasks WHERE id = ${id}::uuid FOR UPDATE`;
  if (rows.length === 0) return null;
  return s.tx.task.findUnique({ where: { id } });
}

export function setTaskStatus(s: UserScope | SystemScope, id: string, status: TaskStatus, completedAt: Date | null): Promise<TaskRow> {
  return s.tx.task.update({ where: { id }, data: { status, completedAt } });
}

/**
 * Moves a task to the end of its new parent's subtasks. The cycle check is the tasks_parent_acyclic
 * trigger (it sees rows the caller cannot).
 */
export async function setTaskParent(s: UserScope, id: string, parentId: string | null): Promise<TaskRow> {
  const last = parentId ? (await s.tx.task.aggregate({ where: { parentId }, _max: { siblingOrder: true } }))._max.siblingOrder : null;
  return s.tx.task.update({ where: { id }, data: { parentId, siblingOrder: last === null ? 0 : last + 1 } });
}

export async function deleteTask(s: UserScope, id: string): Promise<boolean> {
  const r = await s.tx.task.deleteMany({ where: { id, ...visibleTo(s.userId) } });
  return r.count === 1;
}
