import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { conflict, notFound } from './errors.js';
import type { ServiceServer } from './http-server.js';
import { createLogger } from './logger.js';
import { PROBLEM_TYPE_BASE } from './problem.js';
import { createTrpc } from './trpc.js';
import { bearerIdentity, startTestServer } from '../test/support/test-server.js';

// Rule (issue 13, item 3): every error on /api is RFC 9457 application/problem+json with a stable
// `type` per error kind, `title`, `status`, `detail`, `instance` (the request path), `code`, the
// zod issues with their paths for bad input and a domain error's details as extension members;
// /trpc errors carry the same members in `error.data` beside tRPC's own. The OpenAPI document
// describes exactly that body. A real server over real sockets; no store needed.

const log = createLogger('problem-test', 'silent');
// ajv-formats is CommonJS; its typings describe the module object, not the function it exports.
const addFormats = addFormatsImport as unknown as (ajv: Ajv2020) => Ajv2020;
const { router, publicProcedure, authedProcedure } = createTrpc();
const TASK = '8a7b0c0e-1f2d-4c3b-9a8e-7d6c5b4a3f21';
const appRouter = router({
  tasks: router({
    get: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/tasks/get', protect: true } })
      .input(z.object({ id: z.uuid() }))
      .output(z.object({ id: z.string() }))
      .query(({ input }) => {
        throw notFound('task', input.id);
      }),
    create: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/tasks/create', protect: true } })
      .input(z.object({ title: z.string().min(1), subtasks: z.array(z.object({ title: z.string().min(1) })).default([]) }))
      .output(z.object({ id: z.string() }))
      .mutation(() => ({ id: TASK })),
    update: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/tasks/update', protect: true } })
      .input(z.object({ id: z.uuid(), expectedVersion: z.number().int() }))
      .output(z.object({ id: z.string() }))
      .mutation(({ input }) => {
        // `status` collides with a standard member: it must not overwrite the HTTP status.
        throw conflict('version conflict', {
          aggregateId: input.id,
          expectedVersion: input.expectedVersion,
          actualVersion: 3,
          status: 'stale',
        });
      }),
  }),
  ping: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/ping', protect: false } })
    .input(z.object({}))
    .output(z.object({ ok: z.boolean() }))
    .query(() => ({ ok: true })),
});

const createContext = bearerIdentity(log);

let server: ServiceServer;
let problemSchema: object;
beforeAll(async () => {
  server = await startTestServer({
    name: 'problem-test',
    router: appRouter,
    createContext,
    readiness: { store: async () => Promise.reject(new Error('down')) },
    log,
    limits: { rateLimit: { requests: 2, anonymousRequests: 1_000, windowMs: 60_000 } },
  });
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { components: { schemas: Record<string, object> } };
  problemSchema = doc.components.schemas['Problem']!;
});
afterAll(() => server?.close());

// The rate limit is small (2 per principal) for the 429 case: every other call comes as a user of its own.
let users = 0;
const auth = () => ({ authorization: `Bearer user:problem-${++users}`, 'content-type': 'application/json' });
const conforms = (body: unknown) => {
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  const validate = ajv.compile(problemSchema);
  return validate(body) ? 'ok' : validate.errors;
};

async function answer(res: Response) {
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

describe('errors on /api are problem+json', () => {
  it('a missing record: 404 with the not-found type, the request path as instance and the domain details as members', async () => {
    const a = await answer(await fetch(`${server.url}/api/tasks/get?id=${TASK}`, { headers: auth() }));
    expect(a.status).toBe(404);
    expect(a.contentType).toBe('application/problem+json');
    expect(a.body).toEqual({
      type: 'https://agent-platform.dev/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: `task ${TASK} not found`,
      instance: '/api/tasks/get',
      code: 'NOT_FOUND',
      message: `task ${TASK} not found`,
      id: TASK,
    });
    expect(conforms(a.body)).toBe('ok');
  });

  it('bad input: 400 with the bad-request type, a readable detail and one issue per field with its path', async () => {
    const a = await answer(
      await fetch(`${server.url}/api/tasks/create`, {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({ title: '', subtasks: [{ title: 'ok' }, {}] }),
      }),
    );
    expect(a.status).toBe(400);
    expect(a.contentType).toBe('application/problem+json');
    const { issues, detail, ...rest } = a.body;
    expect(rest).toEqual({
      type: 'https://agent-platform.dev/problems/bad-request',
      title: 'Bad Request',
      status: 400,
      instance: '/api/tasks/create',
      code: 'BAD_REQUEST',
      message: 'Input validation failed',
    });
    expect(detail).toMatch(/^Input validation failed: .*title: .*subtasks\.1\.title: /);
    const list = issues as Array<{ path: unknown[]; message: string; code: string }>;
    expect(list.map((i) => ({ path: i.path, code: i.code }))).toEqual([
      { path: ['title'], code: 'too_small' },
      { path: ['subtasks', 1, 'title'], code: 'invalid_type' },
    ]);
    for (const i of list) expect(i.message).toEqual(expect.any(String));
    expect(conforms(a.body)).toBe('ok');
  });

  it('a conflict carries its details as extension members, never over a standard member', async () => {
    const a = await answer(
      await fetch(`${server.url}/api/tasks/update`, {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({ id: TASK, expectedVersion: 2 }),
      }),
    );
    expect(a.status).toBe(409);
    expect(a.body).toMatchObject({
      type: `${PROBLEM_TYPE_BASE}conflict`,
      title: 'Conflict',
      status: 409,
      code: 'CONFLICT',
      aggregateId: TASK,
      expectedVersion: 2,
      actualVersion: 3,
    });
    expect(conforms(a.body)).toBe('ok');
  });

  it('malformed JSON, no token, an unknown REST route and a rate refusal answer problem+json too', async () => {
    const parse = await answer(await fetch(`${server.url}/api/tasks/create`, { method: 'POST', headers: auth(), body: '{"title":' }));
    expect(parse).toMatchObject({
      status: 400,
      contentType: 'application/problem+json',
      body: { type: `${PROBLEM_TYPE_BASE}parse-error`, code: 'PARSE_ERROR', status: 400, instance: '/api/tasks/create' },
    });

    const anonymous = await answer(await fetch(`${server.url}/api/tasks/get?id=${TASK}`));
    expect(anonymous).toMatchObject({
      status: 401,
      contentType: 'application/problem+json',
      body: { type: `${PROBLEM_TYPE_BASE}unauthorized`, title: 'Unauthorized', code: 'UNAUTHORIZED' },
    });

    const route = await answer(await fetch(`${server.url}/api/nothing/here`, { headers: auth() }));
    expect(route).toMatchObject({
      status: 404,
      contentType: 'application/problem+json',
      body: { type: `${PROBLEM_TYPE_BASE}not-found`, instance: '/api/nothing/here' },
    });

    const headers = { authorization: 'Bearer user:rate-rita' };
    for (let i = 0; i < 2; i++) expect((await fetch(`${server.url}/api/ping`, { headers })).status).toBe(200);
    const limited = await fetch(`${server.url}/api/ping`, { headers });
    expect(limited.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    const a = await answer(limited);
    expect(a).toMatchObject({
      status: 429,
      contentType: 'application/problem+json',
      body: {
        type: `${PROBLEM_TYPE_BASE}too-many-requests`,
        title: 'Too Many Requests',
        status: 429,
        code: 'TOO_MANY_REQUESTS',
        instance: '/api/ping',
      },
    });
    for (const body of [parse.body, anonymous.body, route.body, a.body]) expect(conforms(body)).toBe('ok');
  });

  it('plain-HTTP problems (unknown route, readiness) use the same type URIs', async () => {
    const route = await answer(await fetch(`${server.url}/nowhere`));
    expect(route).toMatchObject({
      status: 404,
      contentType: 'application/problem+json',
      body: { type: `${PROBLEM_TYPE_BASE}not-found`, title: 'Not Found', status: 404, instance: '/nowhere' },
    });
    const ready = await answer(await fetch(`${server.url}/readyz`));
    expect(ready).toMatchObject({
      status: 503,
      body: { type: `${PROBLEM_TYPE_BASE}service-unavailable`, title: 'Service Unavailable', status: 503, failing: ['store'] },
    });
  });
});

describe('errors on /trpc carry the same members in error.data', () => {
  it('keeps code, httpStatus and zodIssues and adds type, title, status, detail, instance and issues', async () => {
    const res = await fetch(`${server.url}/trpc/tasks.create`, { method: 'POST', headers: auth(), body: JSON.stringify({ title: '' }) });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { data: Record<string, unknown> } };
    expect(error.data).toMatchObject({
      code: 'BAD_REQUEST',
      httpStatus: 400,
      path: 'tasks.create',
      type: `${PROBLEM_TYPE_BASE}bad-request`,
      title: 'Bad Request',
      status: 400,
      instance: '/trpc/tasks.create',
      issues: [{ path: ['title'], code: 'too_small', message: expect.any(String) }],
    });
    expect(error.data['detail']).toMatch(/^Input validation failed: title: /);
    expect((error.data['zodIssues'] as unknown[]).length).toBe(1);

    const missing = await fetch(`${server.url}/trpc/tasks.get?input=${encodeURIComponent(JSON.stringify({ id: TASK }))}`, {
      headers: auth(),
    });
    expect(missing.status).toBe(404);
    const nf = ((await missing.json()) as { error: { data: Record<string, unknown> } }).error.data;
    expect(nf).toMatchObject({
      code: 'NOT_FOUND',
      httpStatus: 404,
      type: `${PROBLEM_TYPE_BASE}not-found`,
      title: 'Not Found',
      status: 404,
      detail: `task ${TASK} not found`,
      instance: '/trpc/tasks.get',
      issues: null,
      details: { id: TASK },
    });
  });
});

describe('the OpenAPI document', () => {
  it('describes every error answer of every operation as application/problem+json with the Problem schema', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.components.schemas).filter((n) => n.startsWith('error.'))).toEqual([]);
    let errorResponses = 0;
    for (const item of Object.values(doc.paths)) {
      for (const op of Object.values(item)) {
        expect(op.responses['default']).toBeDefined();
        for (const [status, response] of Object.entries(op.responses)) {
          if (status !== 'default' && Number(status) < 400) continue;
          errorResponses += 1;
          expect(response.content).toEqual({ 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });
        }
      }
    }
    expect(errorResponses).toBeGreaterThan(8);
  });
});
