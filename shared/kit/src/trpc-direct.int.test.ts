import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { conflict, notFound } from './errors.js';
import type { ServiceServer } from './http-server.js';
import { createLogger } from './logger.js';
import { createTrpc } from './trpc.js';
import { bearerIdentity, startTestServer } from '../test/support/test-server.js';

// The direct path (trpc-direct.ts) must answer exactly as tRPC's adapter does: the same router is
// served twice over real sockets, once with direct calls and once through the adapter only, and
// every call below — successes, each kind of error, limits, and the calls the direct path leaves to
// the adapter — must get the same status, content type, Vary, Retry-After and body from both.

const log = createLogger('direct-test', 'silent');
const { router, publicProcedure, authedProcedure, middleware } = createTrpc();
let sideEffects = 0;
// A service's own middlewares run in the direct path's chain (trpc-direct.ts `step`) as in tRPC's:
// one adds to the context and replaces the input, one throws, one forgets to return next().
const stamped = authedProcedure.use(
  middleware(({ next, ctx }) => next({ ctx: { stamp: `${ctx.principal?.id}!` }, input: { title: 'replaced', tags: ['mw'] } })),
);
const refusing = authedProcedure.use(
  middleware(() => {
    throw conflict('refused by a middleware', { why: 'test' });
  }),
);
const forgetful = authedProcedure.use(middleware((async () => undefined) as unknown as Parameters<typeof middleware>[0]));
const appRouter = router({
  tasks: router({
    get: authedProcedure
      .input(z.object({ id: z.uuid() }))
      .output(z.object({ id: z.string(), title: z.string() }))
      .query(({ input }) => {
        if (input.id.startsWith('0')) throw notFound('task', input.id);
        return { id: input.id, title: 't' };
      }),
    create: authedProcedure
      .input(z.object({ title: z.string().min(1), tags: z.array(z.string()).default([]) }))
      .output(z.object({ id: z.string(), tags: z.array(z.string()) }))
      .mutation(({ input }) => {
        sideEffects++;
        return { id: input.title, tags: input.tags };
      }),
    update: authedProcedure.input(z.object({ id: z.string() })).mutation(({ input }) => {
      throw conflict('version conflict', { aggregateId: input.id, expectedVersion: 1, actualVersion: 3 });
    }),
    // Output validation still runs: this one returns what its schema refuses.
    broken: authedProcedure.output(z.object({ n: z.number() })).query(() => ({ n: 'not a number' }) as unknown as { n: number }),
    crash: authedProcedure.mutation(() => {
      throw new Error('boom');
    }),
    nothing: authedProcedure.mutation(() => undefined),
    stamped: stamped
      .input(z.object({ title: z.string(), tags: z.array(z.string()) }))
      .mutation(({ input, ctx }) => ({ input, stamp: ctx.stamp, by: ctx.principal.id })),
    refused: refusing.mutation(() => ({ ran: true })),
    forgot: forgetful.mutation(() => ({ ran: true })),
  }),
  ping: publicProcedure.query(() => ({ ok: true })),
});

let direct: ServiceServer;
let adapter: ServiceServer;
beforeAll(async () => {
  const common = {
    name: 'direct-test',
    router: appRouter,
    createContext: bearerIdentity(log),
    log,
    limits: { rateLimit: { requests: 2, anonymousRequests: 1_000, windowMs: 60_000 } },
  };
  direct = await startTestServer({ ...common, cors: { origins: ['https://app.example'] } });
  adapter = await startTestServer({ ...common, cors: { origins: ['https://app.example'] }, directCalls: false });
});
afterAll(async () => {
  await direct?.close();
  await adapter?.close();
});

interface Call {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers?: Record<string, string>;
  /** A fresh user per call and server, unless the case is about the rate limit. */
  user?: string;
}

let users = 0;
async function send(server: ServiceServer, call: Call) {
  const user = call.user ?? `direct-${++users}`;
  const res = await fetch(`${server.url}${call.path}`, {
    method: call.method,
    headers: {
      authorization: `Bearer user:${user}`,
      ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...call.headers,
    },
    ...(call.body !== undefined ? { body: call.body } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    vary: res.headers.get('vary'),
    retryAfter: res.headers.get('retry-after'),
    allow: res.headers.get('allow'),
    body: text.length > 0 ? (JSON.parse(text) as unknown) : null,
  };
}

const input = (v: unknown) => `?input=${encodeURIComponent(JSON.stringify(v))}`;
const ID = '8a7b0c0e-1f2d-4c3b-9a8e-7d6c5b4a3f21';
const calls: Call[] = [
  { name: 'query', method: 'GET', path: `/trpc/tasks.get${input({ id: ID })}` },
  { name: 'mutation', method: 'POST', path: '/trpc/tasks.create', body: JSON.stringify({ title: 'a', tags: ['x'] }) },
  { name: 'mutation with a default filled in', method: 'POST', path: '/trpc/tasks.create', body: JSON.stringify({ title: 'b' }) },
  { name: 'mutation returning nothing', method: 'POST', path: '/trpc/tasks.nothing', body: '' },
  { name: 'public query without input', method: 'GET', path: '/trpc/ping' },
  { name: 'domain not-found', method: 'GET', path: `/trpc/tasks.get${input({ id: '0a7b0c0e-1f2d-4c3b-9a8e-7d6c5b4a3f21' })}` },
  { name: 'domain conflict with details', method: 'POST', path: '/trpc/tasks.update', body: JSON.stringify({ id: 'x' }) },
  { name: 'bad input', method: 'POST', path: '/trpc/tasks.create', body: JSON.stringify({ title: '' }) },
  { name: 'missing input', method: 'POST', path: '/trpc/tasks.create', body: '' },
  { name: 'output refused by its schema', method: 'GET', path: '/trpc/tasks.broken' },
  { name: 'unexpected error', method: 'POST', path: '/trpc/tasks.crash', body: '{}' },
  {
    name: 'middleware adding to the context and replacing the input',
    method: 'POST',
    path: '/trpc/tasks.stamped',
    body: '{"title":"x","tags":[]}',
    user: 'mw-parity',
  },
  { name: 'middleware throwing a domain error', method: 'POST', path: '/trpc/tasks.refused', body: '{}' },
  { name: 'middleware not returning next()', method: 'POST', path: '/trpc/tasks.forgot', body: '{}' },
  { name: 'malformed JSON body (adapter)', method: 'POST', path: '/trpc/tasks.create', body: '{"title":' },
  { name: 'malformed ?input= (adapter)', method: 'GET', path: '/trpc/tasks.get?input=%7B' },
  { name: 'query sent as POST (adapter)', method: 'POST', path: '/trpc/tasks.get', body: JSON.stringify({ id: ID }) },
  { name: 'mutation sent as GET (adapter)', method: 'GET', path: '/trpc/tasks.create' },
  { name: 'unknown procedure (adapter)', method: 'POST', path: '/trpc/tasks.nope', body: '{}' },
  {
    name: 'batch of two (adapter)',
    method: 'POST',
    path: '/trpc/tasks.create,tasks.create?batch=1',
    body: JSON.stringify({ 0: { title: 'c' }, 1: { title: '' } }),
  },
  {
    name: 'with an Origin (CORS)',
    method: 'POST',
    path: '/trpc/tasks.create',
    body: JSON.stringify({ title: 'd' }),
    headers: { origin: 'https://app.example' },
  },
];

describe('direct tRPC calls answer as the adapter does', () => {
  it.each(calls.map((c) => [c.name, c] as const))('%s', async (_name, call) => {
    const [a, b] = [await send(direct, call), await send(adapter, call)];
    expect(a).toEqual(b);
  });

  it("the service's middlewares run on the direct path: context added, input merged, errors kept", async () => {
    const ok = await send(direct, {
      name: 'stamped',
      method: 'POST',
      path: '/trpc/tasks.stamped',
      body: '{"title":"x","tags":[]}',
      user: 'mw',
    });
    expect(ok).toMatchObject({ status: 200, body: { result: { data: { input: { title: 'x', tags: [] }, stamp: 'mw!', by: 'mw' } } } });
    const refused = await send(direct, { name: 'refused', method: 'POST', path: '/trpc/tasks.refused', body: '{}' });
    expect(refused).toMatchObject({ status: 409, body: { error: { data: { code: 'CONFLICT', details: { why: 'test' } } } } });
    const forgot = await send(direct, { name: 'forgot', method: 'POST', path: '/trpc/tasks.forgot', body: '{}' });
    expect(forgot).toMatchObject({ status: 500, body: { error: { data: { code: 'INTERNAL_SERVER_ERROR' } } } });
  });

  it('anonymous callers are refused the same way', async () => {
    const call: Call = {
      name: 'anonymous',
      method: 'POST',
      path: '/trpc/tasks.create',
      body: '{"title":"a"}',
      headers: { authorization: '' },
    };
    const [a, b] = [await send(direct, call), await send(adapter, call)];
    expect(a.status).toBe(401);
    expect(a).toEqual(b);
  });

  it('the rate limit applies on the direct path: the third call is 429 with Retry-After, and the procedure did not run', async () => {
    const answers = [];
    for (const server of [direct, adapter]) {
      for (let i = 0; i < 3; i++)
        answers.push(
          await send(server, {
            name: 'rate',
            method: 'POST',
            path: '/trpc/tasks.create',
            body: '{"title":"r"}',
            user: `rate-${server === direct ? 'd' : 'a'}`,
          }),
        );
    }
    const before = sideEffects;
    const refused = await send(direct, { name: 'rate', method: 'POST', path: '/trpc/tasks.create', body: '{"title":"r"}', user: 'rate-d' });
    expect(sideEffects).toBe(before);
    expect(refused.status).toBe(429);
    expect(answers[2]).toMatchObject({ status: 429, retryAfter: expect.any(String) });
    expect(answers[2]).toEqual(answers[5]);
  });
});
