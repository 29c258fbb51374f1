import { TaskId, type JobTargetKind, type Principal } from '@platform/contracts';
import { badRequest, DomainError, notFound } from '@platform/kit';

/**
 * Whether a principal may change an operations task. Operations owns tasks and their rules, so
 * coordination asks it, as that principal (never as itself): the answer is operations' own.
 */
export interface TaskAccess {
  /** 'not_found' when the principal cannot see the task (or there is none); throws when operations cannot answer. */
  mayChangeTask(principal: Principal, taskId: string): Promise<'ok' | 'not_found' | 'forbidden'>;
}

/**
 * A job (or schedule) that targets a task changes that task when it succeeds (operations marks it
 * done), so only someone who may change the task may aim work at it. The refusal is operations'
 * own: NOT_FOUND when the caller cannot see the task (no hint it exists), FORBIDDEN when it can see
 * but not change it. A task target must be a task id: anything else could never be applied.
 */
export async function assertMayTarget(
  access: TaskAccess,
  principal: Principal,
  target: { targetKind: JobTargetKind; targetId: string | null },
): Promise<void> {
  if (target.targetKind !== 'task' || target.targetId === null) return;
  if (!TaskId.safeParse(target.targetId).success)
    throw badRequest('a task target must be an operations task id (a UUID)', { targetId: target.targetId });
  const answer = await access.mayChangeTask(principal, target.targetId);
  if (answer === 'not_found') throw notFound('task', target.targetId);
  if (answer === 'forbidden')
    throw new DomainError('FORBIDDEN', `not allowed to change task ${target.targetId}`, { targetId: target.targetId });
}

/** The target a trigger names: a bare targetId means a task (the common case). */
export const targetOf = (input: { targetId?: string | undefined; targetKind?: JobTargetKind | undefined }) => ({
  targetKind: input.targetKind ?? (input.targetId ? ('task' as const) : ('none' as const)),
  targetId: input.targetId ?? null,
});
