import type { Principal } from '@platform/contracts';
import { AuthError, currentTraceId, type Logger, type RequestContext } from '@platform/kit';
import type { IncomingMessage } from 'node:http';

/** The kit's request context, with token verification cached (`principalFrom`: see auth-cache.ts). */
export function coordinationContextFactory(principalFrom: (header: string | undefined) => Promise<Principal | null>, log: Logger) {
  return async ({ req }: { req: IncomingMessage }): Promise<RequestContext> => {
    const traceId = currentTraceId();
    const reqLog = traceId ? log.child({ trace_id: traceId }) : log;
    try {
      return { principal: await principalFrom(req.headers.authorization), authError: null, log: reqLog };
    } catch (err) {
      return { principal: null, authError: err instanceof AuthError ? err.message : 'invalid token', log: reqLog };
    }
  };
}
