import type { Principal } from '@platform/contracts';
import { createServiceClient, DomainError } from '@platform/kit';
import type { OperationsRouter } from '@platform/operations/router';
import type { TaskAccess } from '../domain/task-access.js';

/** The tRPC code of a failed call (a TRPCClientError carries it in `data`), if the other side answered one. */
function codeOf(err: unknown): string | undefined {
  const data = err instanceof Error ? (err as Error & { data?: unknown }).data : undefined;
  const code = data && typeof data === 'object' ? (data as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * TaskAccess over operations' typed client, asking AS THE CALLER: `getTokenFor` returns a token
 * that operations reads as that principal (a delegated, "on behalf of" token), so row-level
 * security and operations' task rules decide, and a task the caller cannot see is NOT_FOUND there
 * too. `tasks.get` answers visibility and, in `mayChange`, operations' own "may change" rule (owner,
 * or member/admin/owner of the task's team) — one round trip.
 */
export function operationsTaskAccess(opts: { baseUrl: string; timeoutMs: number; getTokenFor: (p: Principal) => Promise<string> }): TaskAccess {
  return {
    async mayChangeTask(principal, taskId) {
      // The caller's token, not the service's; fetched first so its own failure surfaces as it is.
      const token = await opts.getTokenFor(principal);
      const client = createServiceClient<OperationsRouter>({ baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs, getToken: async () => token });
      try {
        const task = await client.tasks.get.query({ id: taskId });
        return task.mayChange ? 'ok' : 'forbidden';
      } catch (err) {
        const code = codeOf(err);
        if (code === 'NOT_FOUND') return 'not_found';
        throw new DomainError('SERVICE_UNAVAILABLE', `operations could not say whether ${principal.kind} ${principal.id} may change task ${taskId}: ${code ?? (err instanceof Error ? err.message : String(err))}`);
      }
    },
  };
}

/**
 * Until delegated tokens exist (the lead is adding them to the kit), coordination cannot ask
 * operations as the caller, and must not ask as itself: triggering work on a task is refused with
 * a clear reason instead.
 */
export const delegatedTokensNotWired = async (): Promise<string> => {
  throw new DomainError('SERVICE_UNAVAILABLE', 'coordination cannot yet ask operations on a caller’s behalf (delegated tokens are not wired), so jobs and schedules that target a task are refused');
};
