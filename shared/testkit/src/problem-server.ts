import { PrincipalKind, type Principal } from '@platform/contracts';
import { createLogger, startServiceServer, type RequestContext, type ServiceServer } from '@platform/kit';
import type { AnyRouter } from '@trpc/server';
import type { IncomingMessage } from 'node:http';
import { expect } from 'vitest';

const log = createLogger('problem-test', 'silent');

/** Test-only identity: `Authorization: Bearer <kind>:<id>` (token checks are the kit's auth tests' business). */
async function createContext({ req }: { req: IncomingMessage }): Promise<RequestContext> {
  const m = /^Bearer (\w+):(\S+)$/.exec(req.headers.authorization ?? '');
  const kind = PrincipalKind.safeParse(m?.[1]);
  const principal: Principal | null = m && kind.success ? { kind: kind.data, id: m[2]!, roles: [] } : null;
  return { principal, authError: principal ? null : 'Missing bearer token', log };
}

/** A service's real router behind the kit's real HTTP server (/trpc, /api, /openapi.json) on a free port. */
export function serveRouter(router: AnyRouter, name: string): Promise<ServiceServer> {
  return startServiceServer({
    name,
    router,
    createContext,
    readiness: {},
    log,
    host: '127.0.0.1',
    port: 0,
    readinessTimeoutMs: 500,
    openapi: { title: name, version: '0' },
  });
}

export const bearer = (principal: string) => ({ authorization: `Bearer ${principal}`, 'content-type': 'application/json' });

/**
 * Reads an /api answer and checks it is RFC 9457 problem+json with every standard member: the
 * status, content type, `type` URI and title of `code`, a non-empty detail and the request path as
 * instance. Returns the body for the caller's own checks (extension members, issues).
 */
export async function expectProblem(
  res: Response,
  expected: { status: number; code: string; title: string; instance: string },
): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(expected.status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(body).toMatchObject({
    type: `https://agent-platform.dev/problems/${expected.code.toLowerCase().replaceAll('_', '-')}`,
    title: expected.title,
    status: expected.status,
    instance: expected.instance,
    code: expected.code,
  });
  expect(body['detail']).toEqual(expect.stringMatching(/\S/));
  return body;
}

/** The issues of a validation problem as `path: code` lines, sorted (messages are zod's to word). */
export function issueLines(body: Record<string, unknown>): string[] {
  const issues = body['issues'] as Array<{ path: Array<string | number>; message: string; code: string }>;
  for (const i of issues) expect(i.message).toEqual(expect.stringMatching(/\S/));
  return issues.map((i) => `${i.path.join('.')}: ${i.code}`).sort();
}
