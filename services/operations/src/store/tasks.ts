import type { TaskPriority, TaskStatus } from '@platform/contracts';
import type { Db, Tx } from './prisma.js';

export interface TaskRow {
  id: string;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  ownerId: string;
  sessionId: string | null;
  blockId: string | null;
  parentId: string | null;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
export type TaskTree = TaskRow & { subtasks: TaskRow[] };

export interface NewTask {
  title: string;
  description?: string | undefined;
  priority: TaskPriority;
  sessionId?: string | undefined;
  blockId?: string | undefined;
  subtasks: Array<{ title: string; description?: string | undefined; priority: TaskPriority }>;
}

/** Task and subtasks in one nested create: one statement batch, one transaction. */
export function insertTaskTree(tx: Tx, ownerId: string, t: NewTask): Promise<TaskTree> {
  return tx.task.create({
    data: {
      title: t.title,
      description: t.description ?? null,
      priority: t.priority,
      ownerId,
      sessionId: t.sessionId ?? null,
      blockId: t.blockId ?? null,
      subtasks: { create: t.subtasks.map((s) => ({ ...s, description: s.description ?? null, ownerId, sessionId: t.sessionId ?? null })) },
    },
    include: { subtasks: { orderBy: { createdAt: 'asc' } } },
  });
}

export function findTaskTree(db: Db | Tx, id: string, ownerId: string): Promise<TaskTree | null> {
  return db.task.findFirst({ where: { id, ownerId }, include: { subtasks: { orderBy: { createdAt: 'asc' } } } });
}

/** Locks the row for the rest of the transaction so concurrent completions serialize. */
export async function lockTask(tx: Tx, id: string): Promise<TaskRow | null> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM tasks WHERE id = ${id}::uuid FOR UPDATE`;
  if (rows.length === 0) return null;
  return tx.task.findUnique({ where: { id } });
}

export function setTaskStatus(tx: Tx, id: string, status: TaskStatus, completedAt: Date | null): Promise<TaskRow> {
  return tx.task.update({ where: { id }, data: { status, completedAt } });
}
