import type { Principal } from '@platform/contracts';
import type { TeamDirectory } from '@platform/kit';
import { randomUUID } from 'node:crypto';
import type { TaskAccess } from '../../src/domain/task-access.js';

type TeamRole = 'owner' | 'admin' | 'member' | 'viewer';

/**
 * Operations as coordination sees it, in process: who is in which team (TeamDirectory) and who may
 * change which task (TaskAccess), by operations' rules — the owner, or a member/admin/owner of the
 * task's team, may change it; a viewer sees it but may not; anyone else does not see it. Records
 * who was asked, so tests can check coordination asks as the caller, never as itself.
 */
export class FakeOperations implements TeamDirectory, TaskAccess {
  private readonly tasks = new Map<string, { ownerId: string; teamId: string | null }>();
  private readonly roles = new Map<string, Map<string, TeamRole>>();
  readonly asked: Array<{ principal: Principal; taskId: string }> = [];

  /** A new task owned by `ownerId` (shared with `teamId`); returns its id. */
  task(ownerId: string, teamId: string | null = null): string {
    const id = randomUUID();
    this.tasks.set(id, { ownerId, teamId });
    return id;
  }

  /** A new team with these members; returns its id. */
  team(members: Record<string, TeamRole>): string {
    const id = randomUUID();
    this.roles.set(id, new Map(Object.entries(members)));
    return id;
  }

  leave(teamId: string, userId: string): void {
    this.roles.get(teamId)?.delete(userId);
  }

  async teamsOf(userId: string): Promise<ReadonlySet<string>> {
    return new Set([...this.roles].filter(([, members]) => members.has(userId)).map(([id]) => id));
  }

  async mayChangeTask(principal: Principal, taskId: string): Promise<'ok' | 'not_found' | 'forbidden'> {
    this.asked.push({ principal, taskId });
    const task = this.tasks.get(taskId);
    if (!task) return 'not_found';
    if (task.ownerId === principal.id) return 'ok';
    const role = task.teamId ? this.roles.get(task.teamId)?.get(principal.id) : undefined;
    if (!role) return 'not_found';
    return role === 'viewer' ? 'forbidden' : 'ok';
  }
}
