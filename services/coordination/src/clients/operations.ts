import { asPrincipal, createServiceClient, DomainError, tokensFor, type ServiceTokens } from '@platform/kit';
import type { OperationsRouter } from '@platform/operations/router';
import type { TaskAccess } from '../domain/task-access.js';

/** The tRPC code of a failed call (a TRPCClientError carries it in `data`), if the other side answered one. */
function codeOf(err: unknown): string | undefined {
  const data = err instanceof Error ? (err as Error & { data?: unknown }).data : undefined;
  const code = data && typeof data === 'object' ? (data as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * TaskAccess over operations' typed client, asking AS THE CALLER: a token coordination signs on the
 * caller's behalf, which operations reads as that principal (a delegated, "on behalf of" token), so row-level
 * security and operations' task rules decide, and a task the caller cannot see is NOT_FOUND there
 * too. `tasks.get` answers visibility and, in `mayChange`, operations' own "may change" rule (owner,
 * or member/admin/owner of the task's team) — one round trip.
 */
export function operationsTaskAccess(opts: { baseUrl: string; timeoutMs: number; tokens: ServiceTokens }): TaskAccess {
  const client = createServiceClient<OperationsRouter>({
    baseUrl: opts.baseUrl,
    timeoutMs: opts.timeoutMs,
    getToken: tokensFor(opts.tokens),
  });
  return {
    async mayChangeTask(principal, taskId) {
      try {
        // The caller's identity, not the service's: a token coordination signs on its behalf.
        const task = await client.tasks.get.query({ id: taskId }, asPrincipal(principal));
        return task.mayChange ? 'ok' : 'forbidden';
      } catch (err) {
        const code = codeOf(err);
        if (code === 'NOT_FOUND') return 'not_found';
        throw new DomainError(
          'SERVICE_UNAVAILABLE',
          `operations could not say whether ${principal.kind} ${principal.id} may change task ${taskId}: ${code ?? (err instanceof Error ? err.message : String(err))}`,
        );
      }
    },
  };
}
