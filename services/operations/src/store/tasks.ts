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
  dueAt: Date | null;
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
  dueAt?: Date | undefined;
  subtasks: Array<{ title: string; description?: string | undefined; priority: TaskPriority }>;
}

/** Subtasks in sibling order, one more than the limit (so a cut is known without counting). */
const subtasksInOrder = {
  subtasks: { orderBy: [{ siblingOrder: 'asc' }, { createdAt: 'asc' }, { id: 'asc' }], take: SUBTASK_LIMIT + 1 },
} satisfies Prisma.TaskInclude;

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
      dueAt: t.dueAt ?? null,
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

/** What tasks.edit may change; an absent field stays as it is, null clears description or due date. */
export interface TaskDetails {
  title?: string | undefined;
  description?: string | null | undefined;
  priority?: TaskPriority | undefined;
  dueAt?: Date | null | undefined;
}

export function setTaskDetails(s: UserScope, id: string, details: TaskDetails): Promise<TaskRow> {
  const data: Prisma.TaskUpdateInput = {};
  if (details.title !== undefined) data.title = details.title;
  if (details.description !== undefined) data.description = details.description;
  if (details.priority !== undefined) data.priority = details.priority;
  if (details.dueAt !== undefined) data.dueAt = details.dueAt;
  return s.tx.task.update({ where: { id }, data });
}

/**
 * Serializes with every parent change (the tasks_parent_acyclic trigger takes the same
 * transaction-scoped lock), so no task can move into a tree while it is being deleted.
 */
export async function lockParentChanges(s: UserScope): Promise<void> {
  await s.tx.$executeRaw`SELECT pg_advisory_xact_lock(72707370)`;
}

/**
 * How many tasks below `id` (any depth) someone other than the caller owns, counted over every row
 * whatever the caller can see (app_task_foreign_descendants); null when the caller does not own `id`.
 */
export async function foreignDescendants(s: UserScope, id: string): Promise<number | null> {
  const rows = await s.tx.$queryRaw<Array<{ n: number | null }>>`SELECT app_task_foreign_descendants(${id}::uuid) AS n`;
  return rows[0]?.n ?? null;
}

/**
 * A task and all its descendants, locked, deepest first (the order their deletion is announced in).
 * Under row-level security: call it once foreignDescendants said the caller owns them all.
 */
export async function lockSubtree(s: UserScope, id: string): Promise<TaskRow[]> {
  const rows = await s.tx.$queryRaw<Array<{ id: string; depth: number }>>`
    WITH RECURSIVE down(id, depth) AS (
      SELECT t.id, 0 FROM tasks t WHERE t.id = ${id}::uuid
      UNION
      SELECT t.id, down.depth + 1 FROM tasks t JOIN down ON t.parent_id = down.id
    )
    SELECT t.id::text AS id, down.depth FROM tasks t JOIN down ON down.id = t.id
    ORDER BY down.depth DESC, t.sibling_order DESC, t.id
    FOR UPDATE OF t`;
  const found = new Map((await s.tx.task.findMany({ where: { id: { in: rows.map((r) => r.id) } } })).map((t) => [t.id, t]));
  return rows.map((r) => found.get(r.id)).filter((t): t is NonNullable<typeof t> => t !== undefined);
}

/** Deletes a visible task the caller may delete (RLS: its owner); its subtasks go by the foreign key's cascade. */
export async function deleteTask(s: UserScope, id: string): Promise<boolean> {
  const r = await s.tx.task.deleteMany({ where: { id, ...visibleTo(s.userId) } });
  return r.count === 1;
}
