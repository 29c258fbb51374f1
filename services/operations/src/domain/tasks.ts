import { canTransition, TASK_TRANSITIONS, type Principal, type TaskDetailField, type TaskStatus } from '@platform/contracts';
import { badRequest, conflict, createEnvelope, notFound, withSpan } from '@platform/kit';
import type { KnowledgePort } from '../clients/knowledge.js';
import { appendOutbox } from '../store/outbox.js';
import type { Page } from '../store/pagination.js';
import { asUser, type UserScope } from '../store/scope.js';
import { findSession } from '../store/sessions.js';
import { myRole } from '../store/teams.js';
import {
  deleteTask as deleteTaskRow,
  findTaskTree,
  foreignDescendants,
  insertTaskTree,
  listTasks as listTaskRows,
  lockParentChanges,
  lockSubtree,
  lockTask,
  setTaskDetails,
  setTaskParent,
  setTaskStatus,
  type NewTask,
  type TaskDetails,
  type TaskFilter,
  type TaskRow,
  type TaskTree,
} from '../store/tasks.js';
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
  dueAt: t.dueAt ? t.dueAt.toISOString() : null,
});

/**
 * Creates a task with its subtasks in one transaction, with its events in the outbox. A `blockId`
 * must name an existing knowledge block: it is checked first, and an unknown one writes nothing.
 * A `teamId` shares the tree with that team (members, admins and owners may); a `sessionId` must be
 * one of the caller's sessions.
 */
export async function createTask(deps: TaskDeps, principal: Principal, input: NewTask): Promise<TaskTree> {
  if (input.blockId !== undefined) {
    const exists = await withSpan('knowledge.blocks.get', { attributes: { 'block.id': input.blockId } }, () =>
      deps.knowledge.blockExists(input.blockId!, principal),
    );
    if (!exists) throw badRequest(`block ${input.blockId} does not exist`, { blockId: input.blockId });
  }
  return asUser(
    deps.db,
    principal,
    async (s) => {
      if (input.teamId !== undefined && !teamMay.change(await myRole(s, input.teamId)))
        throw forbidden(`not allowed to add tasks to team ${input.teamId}`);
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
const mayChange = async (s: UserScope, task: TaskRow) =>
  task.ownerId === s.userId || (task.teamId !== null && teamMay.change(await myRole(s, task.teamId)));

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
export async function changeTaskStatus(
  deps: CoreDeps,
  s: UserScope,
  id: string,
  status: TaskStatus,
): Promise<{ task: TaskRow; changed: boolean }> {
  const task = await lockForChange(s, id);
  if (task.status === status) return { task, changed: false };
  if (!canTransition(task.status, status)) {
    throw conflict(`a ${task.status} task cannot become ${status}`, {
      from: task.status,
      to: status,
      allowed: TASK_TRANSITIONS[task.status],
    });
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
        if (parent.teamId !== task.teamId)
          throw badRequest('a task can only move under a task of the same team (or both personal)', {
            teamId: task.teamId,
            parentTeamId: parent.teamId,
          });
      }
      const moved = await setTaskParent(s, id, parentId);
      await appendOutbox(
        s.tx,
        createEnvelope('operations', 'operations.task.updated', { ...taskEventData(moved), change: 'parent' as const }, deps),
      );
      return (await findTaskTree(s, id))!;
    },
    { write: true },
  );
}

/** The detail fields an edit changes (a field given with its current value is no change). */
function changedDetails(task: TaskRow, edit: TaskDetails): Array<TaskDetailField> {
  const changed: TaskDetailField[] = [];
  if (edit.title !== undefined && edit.title !== task.title) changed.push('title');
  if (edit.description !== undefined && edit.description !== task.description) changed.push('description');
  if (edit.priority !== undefined && edit.priority !== task.priority) changed.push('priority');
  if (edit.dueAt !== undefined && (edit.dueAt?.getTime() ?? null) !== (task.dueAt?.getTime() ?? null)) changed.push('dueAt');
  return changed;
}

/**
 * Edits a task's title, description, priority or due date. The same people may edit a task as may
 * change its status (its owner, or a member/admin/owner of its team): NOT_FOUND when the caller cannot
 * see it, FORBIDDEN when it can but may not change it. Only the fields that really change are written
 * and announced (one operations.task.updated, change `details`, `changed` naming them); an edit that
 * changes nothing writes nothing and announces nothing.
 */
export function editTask(deps: CoreDeps, principal: Principal, id: string, edit: TaskDetails): Promise<TaskRow> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const task = await lockForChange(s, id);
      const changed = changedDetails(task, edit);
      if (changed.length === 0) return task;
      const only = Object.fromEntries(changed.map((f) => [f, edit[f]])) as TaskDetails;
      const updated = await setTaskDetails(s, id, only);
      await appendOutbox(
        s.tx,
        createEnvelope('operations', 'operations.task.updated', { ...taskEventData(updated), change: 'details' as const, changed }, deps),
      );
      return updated;
    },
    { write: true },
  );
}

/**
 * Deletes a task with all its subtasks (any depth), in one transaction with one
 * operations.task.deleted per deleted task, deepest first, each naming the task the owner deleted.
 * Only the task's owner may: NOT_FOUND when the caller cannot see the task (or it is already gone),
 * FORBIDDEN when it can see but does not own it (a team member may change a team task, not delete
 * it). A tree holding a task someone else owns (a team member moved theirs under it) is refused with
 * CONFLICT rather than taking their work with it: they move or delete theirs first.
 */
export function deleteTask(deps: CoreDeps, principal: Principal, id: string): Promise<{ id: string; deletedTaskIds: string[] }> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const visible = await findTaskTree(s, id);
      if (!visible) throw notFound('task', id);
      if (visible.ownerId !== s.userId) throw forbidden(`only its owner may delete task ${id}`);
      await lockParentChanges(s);
      if (!(await lockTask(s, id))) throw notFound('task', id); // deleted by a concurrent call
      const foreign = await foreignDescendants(s, id);
      if (foreign === null) throw notFound('task', id);
      if (foreign > 0)
        throw conflict(`task ${id} has ${foreign} subtask(s) owned by someone else: they move or delete theirs first`, {
          foreignSubtasks: foreign,
        });
      const tree = await lockSubtree(s, id);
      if (!(await deleteTaskRow(s, id))) throw notFound('task', id);
      for (const t of tree) {
        await appendOutbox(s.tx, createEnvelope('operations', 'operations.task.deleted', { ...taskEventData(t), deletedWith: id }, deps));
      }
      return { id, deletedTaskIds: tree.map((t) => t.id) };
    },
    { write: true },
  );
}
