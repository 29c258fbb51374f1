import { PrincipalKind, type Principal } from '@platform/contracts';
import type { AnyRouter } from '@trpc/server';
import type { IncomingMessage } from 'node:http';
import { startServiceServer, type ServiceServer, type ServiceServerOptions } from '../../src/http-server.js';
import type { Logger } from '../../src/logger.js';
import type { RequestContext } from '../../src/trpc.js';

/**
 * Test-only identity: `Authorization: Bearer <kind>:<id>` becomes that principal (token checks are
 * auth.ts's tests' business); anything else is anonymous.
 */
export const bearerIdentity =
  (log: Logger) =>
  async ({ req }: { req: IncomingMessage }): Promise<RequestContext> => {
    const m = /^Bearer (\w+):(\S+)$/.exec(req.headers.authorization ?? '');
    const kind = PrincipalKind.safeParse(m?.[1]);
    const principal: Principal | null = m && kind.success ? { kind: kind.data, id: m[2]!, roles: [] } : null;
    return { principal, authError: null, log };
  };

/** A service server on a free loopback port, with what the kit's HTTP tests do not vary filled in. */
export function startTestServer<TRouter extends AnyRouter>(
  opts: Pick<ServiceServerOptions<TRouter>, 'name' | 'router' | 'createContext' | 'log'> & Partial<ServiceServerOptions<TRouter>>,
): Promise<ServiceServer> {
  return startServiceServer({
    readiness: {},
    host: '127.0.0.1',
    port: 0,
    readinessTimeoutMs: 500,
    openapi: { title: opts.name, version: '0' },
    ...opts,
  });
}
