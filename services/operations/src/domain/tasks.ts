import { canTransition, TASK_TRANSITIONS, type Principal, type TaskStatus } from '@platform/contracts';
import { badRequest, conflict, createEnvelope, notFound, withSpan } from '@platform/kit';
import type { KnowledgePort } from '../clients/knowledge.js';
import { appendOutbox } from '../store/outbox.js';
import type { Page } from '../store/pagination.js';
import { asUser, type UserScope } from '../store/scope.js';
import { findSession } from '../store/sessions.js';
import { myRole } from '../store/teams.js';
import { findTaskTree, insertTaskTree, listTasks as listTaskRows, lockTask, setTaskParent, setTaskStatus, type NewTask, type TaskFilter, type TaskRow, type TaskTree } from '../store/tasks.js';
import { forbidden, teamMay } from './access.js';
import type { CoreDeps } from './deps.js';

export interface TaskDeps extends CoreDeps {
  knowledge: KnowledgePort;
}

export const taskEventData = (t: TaskRow) => ({
  taskId: t.id,
  ownerId: t.ownerId,
  status: t.status,
  priority: t.priority,
  parentId: t.parentId,
  blockId: t.blockId,
  teamId: t.teamId,
});

/**
 * Creates a task with its subtasks in one transaction, with its events in the outbox. A `blockId`
 * must name an existing knowledge block: it is checked first, and an unknown one writes nothing.
 * A `teamId` shares the tree with that team (members, admins and owners may); a `sessionId` must be
 * one of the caller's sessions.
 */
export async function createTask(deps: TaskDeps, principal: Principal, input: NewTask): Promise<TaskTree> {
  if (input.blockId !== undefined) {
    const exists = await withSpan('knowledge.blocks.get', { attributes: { 'block.id': input.blockId } }, () => deps.knowledge.blockExists(input.blockId!, principal));
    if (!exists) throw badRequest(`block ${input.blockId} does not exist`, { blockId: input.blockId });
  }
  return asUser(
    deps.db,
    principal,
    async (s) => {
      if (input.teamId !== undefined && !teamMay.change(await myRole(s, input.teamId))) throw forbidden(`not allowed to add tasks to team ${input.teamId}`);
      if (input.sessionId !== undefined && !(await findSession(s, input.sessionId))) throw notFound('session', input.sessionId);
      const task = await insertTaskTree(s, input);
      for (const t of [task, ...task.subtasks]) {
        await appendOutbox(s.tx, createEnvelope('operations', 'operations.task.created', taskEventData(t), deps));
      }
      return task;
    },
    { write: true },
  );
}

/**
 * A visible task with its subtasks, and whether the caller may change it (so another service can
 * ask, as the caller, before aiming work at the task: coordination's jobs.trigger).
 */
export function getTask(deps: CoreDeps, principal: Principal, id: string): Promise<TaskTree & { mayChange: boolean }> {
  return asUser(deps.db, principal, async (s) => {
    const task = await findTaskTree(s, id);
    if (!task) throw notFound('task', id);
    return { ...task, mayChange: await mayChange(s, task) };
  });
}

export function listTasks(deps: CoreDeps, principal: Principal, filter: TaskFilter): Promise<Page<TaskRow>> {
  return asUser(deps.db, principal, (s) => listTaskRows(s, filter));
}

/** Who may change a visible task: its owner, or a member/admin/owner of its team. */
const mayChange = async (s: UserScope, task: TaskRow) => task.ownerId === s.userId || (task.teamId !== null && teamMay.change(await myRole(s, task.teamId)));

/** The task, locked, if the caller may change it. */
async function lockForChange(s: UserScope, id: string): Promise<TaskRow> {
  const visible = await findTaskTree(s, id);
  if (!visible) throw notFound('task', id);
  if (!(await mayChange(s, visible))) throw forbidden(`not allowed to change task ${id}`);
  const task = await lockTask(s, id);
  if (!task) throw notFound('task', id);
  return task;
}

/**
 * Changes a task's status along TASK_TRANSITIONS (asking for the current status is a no-op). Entering
 * `done` stamps completedAt and also announces operations.task.completed; leaving it clears completedAt.
 */
export function updateTaskStatus(deps: CoreDeps, principal: Principal, id: string, status: TaskStatus): Promise<TaskRow> {
  return asUser(deps.db, principal, async (s) => (await changeTaskStatus(deps, s, id, status)).task, { write: true });
}

/**
 * updateTaskStatus inside a scope the caller opened, for the job-results consumer (which records
 * the event it handles in the same transaction): the same rules, as the scope's principal.
 * NOT_FOUND / FORBIDDEN / CONFLICT as updateTaskStatus; `changed` is false when already there.
 */
export async function changeTaskStatus(deps: CoreDeps, s: UserScope, id: string, status: TaskStatus): Promise<{ task: TaskRow; changed: boolean }> {
  const task = await lockForChange(s, id);
  if (task.status === status) return { task, changed: false };
  if (!canTransition(task.status, status)) {
    throw conflict(`a ${task.status} task cannot become ${status}`, { from: task.status, to: status, allowed: TASK_TRANSITIONS[task.status] });
  }
  const updated = await setTaskStatus(s, id, status, status === 'done' ? deps.clock() : null);
  const data = { ...taskEventData(updated), change: 'status' as const, previousStatus: task.status };
  await appendOutbox(s.tx, createEnvelope('operations', 'operations.task.updated', data, deps));
  if (status === 'done') await appendOutbox(s.tx, createEnvelope('operations', 'operations.task.completed', taskEventData(updated), deps));
  return { task: updated, changed: true };
}

/**
 * Moves a task under another parent (or to the top with null). The parent must be visible to the
 * caller and in the same team (or both personal), so a tree is never split across audiences. Cycles
 * are refused by the database (trigger tasks_parent_acyclic → BAD_REQUEST), which also covers two
 * concurrent moves that would only form a cycle together.
 */
export function moveTask(deps: CoreDeps, principal: Principal, id: string, parentId: string | null): Promise<TaskTree> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const task = await lockForChange(s, id);
      if (parentId === task.parentId) return (await findTaskTree(s, id))!;
      if (parentId !== null) {
        const parent = await findTaskTree(s, parentId);
        if (!parent) throw notFound('task', parentId);
        if (parent.teamId !== task.teamId) throw badRequest('a task can only move under a task of the same team (or both personal)', { teamId: task.teamId, parentTeamId: parent.teamId });
      }
      const moved = await setTaskParent(s, id, parentId);
      await appendOutbox(s.tx, createEnvelope('operations', 'operations.task.updated', { ...taskEventData(moved), change: 'parent' as const }, deps));
      return (await findTaskTree(s, id))!;
    },
    { write: true },
  );
}
