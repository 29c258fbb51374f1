import { AuthError, currentTraceId, type JwtSettings, type Logger, type RequestContext } from '@platform/kit';
import type { IncomingMessage } from 'node:http';
import { cachedPrincipalFromHeader } from './auth-cache.js';

/** The kit's request context, with token verification cached (see auth-cache.ts). */
export function coordinationContextFactory(jwt: JwtSettings, log: Logger) {
  const principalFrom = cachedPrincipalFromHeader(jwt);
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
