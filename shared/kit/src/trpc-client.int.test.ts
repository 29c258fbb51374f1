import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ServiceServer } from './http-server.js';
import { createLogger } from './logger.js';
import { notFound } from './errors.js';
import { asPrincipal, createServiceClient } from './trpc-client.js';
import { createTrpc } from './trpc.js';
import { bearerIdentity, startTestServer } from '../test/support/test-server.js';

// The service client's timeout and cancellation (one AbortController for both, trpc-client.ts),
// over real sockets: a server that never answers, and one that does.

const log = createLogger('client-test', 'silent');
const { router, authedProcedure } = createTrpc();
const appRouter = router({
  echo: authedProcedure.input(z.object({ text: z.string() })).mutation(({ input }) => ({ text: input.text })),
  // For the parity with tRPC's own httpLink below: queries with and without input, each kind of answer.
  whoami: authedProcedure.query(({ ctx }) => ({ id: ctx.principal.id, kind: ctx.principal.kind })),
  find: authedProcedure
    .input(z.object({ id: z.string(), note: z.string().optional() }))
    .output(z.object({ id: z.string(), note: z.string().nullable() }))
    .query(({ input }) => {
      if (input.id === 'missing') throw notFound('thing', input.id);
      return { id: input.id, note: input.note ?? null };
    }),
  nothing: authedProcedure.mutation(() => undefined),
  crash: authedProcedure.mutation(() => {
    throw new Error('boom');
  }),
});

let server: ServiceServer;
let silent: Server;
let silentUrl: string;
let html: Server;
let htmlUrl: string;
beforeAll(async () => {
  server = await startTestServer({ name: 'client-test', router: appRouter, createContext: bearerIdentity(log), log });
  silent = createServer(() => undefined); // reads the request, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  // A proxy's error page instead of a tRPC answer.
  html = createServer((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>'));
  await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
  htmlUrl = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await server?.close();
  silent?.closeAllConnections();
  await new Promise((r) => silent?.close(r));
  await new Promise((r) => html?.close(r));
});

it('answers many calls in turn, each with its own timeout cleared', async () => {
  const client = createServiceClient<typeof appRouter>({
    baseUrl: server.url,
    getToken: async () => 'service:client-test',
    timeoutMs: 300,
  });
  for (let i = 0; i < 20; i++) await expect(client.echo.mutate({ text: `t${i}` })).resolves.toEqual({ text: `t${i}` });
  // Longer than the timeout after those calls ended: a timer left running would have aborted nothing, and nothing fails.
  await new Promise((r) => setTimeout(r, 400));
  await expect(client.echo.mutate({ text: 'after' })).resolves.toEqual({ text: 'after' });
});

it('gives up on a server that never answers after timeoutMs', async () => {
  const client = createServiceClient<typeof appRouter>({ baseUrl: silentUrl, getToken: async () => 'x', timeoutMs: 200 });
  const t0 = performance.now();
  await expect(client.echo.mutate({ text: 'hang' })).rejects.toThrow(/timed out after 200 ms/);
  const ms = performance.now() - t0;
  expect(ms).toBeGreaterThanOrEqual(180);
  expect(ms).toBeLessThan(3_000);
});

it("stops at once when the caller's signal aborts", async () => {
  const client = createServiceClient<typeof appRouter>({ baseUrl: silentUrl, getToken: async () => 'x', timeoutMs: 10_000 });
  const controller = new AbortController();
  const t0 = performance.now();
  const call = client.echo.mutate({ text: 'cancel' }, { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  await expect(call).rejects.toThrow();
  expect(performance.now() - t0).toBeLessThan(3_000);
});

describe("single calls answer as tRPC's httpLink does", () => {
  // The kit's client sends single calls without tRPC's link chain (trpc-client.ts SingleCallClient):
  // what each call resolves to, or the TRPCClientError it throws (message, data, shape, status,
  // the JSON read), must be what tRPC's own client with httpLink gives for the same call.
  const tokens: Array<Record<string, unknown>> = [];
  const getToken = async (context: Record<string, unknown>) => {
    tokens.push(context);
    const as = context['asPrincipal'] as { id: string } | undefined;
    return as ? `user:${as.id}` : context['anonymous'] ? 'nobody' : 'service:client-test';
  };
  const reference = (baseUrl: string) =>
    createTRPCClient<typeof appRouter>({
      links: [httpLink({ url: `${baseUrl}/trpc`, headers: async ({ op }) => ({ authorization: `Bearer ${await getToken(op.context)}` }) })],
    });
  const outcome = async (call: Promise<unknown>) => {
    try {
      return { ok: true, value: await call };
    } catch (err) {
      if (!(err instanceof TRPCClientError)) return { ok: false, notTrpcClientError: String(err) };
      const e = err as TRPCClientError<typeof appRouter>;
      const meta = e.meta as { response?: Response; responseJSON?: unknown } | undefined;
      return {
        ok: false,
        name: e.name,
        message: e.message,
        data: e.data,
        shape: e.shape,
        status: meta?.response?.status,
        responseJSON: meta?.responseJSON,
        cause: e.cause ? { name: e.cause.name, message: e.cause.message } : undefined,
      };
    }
  };
  type Client = ReturnType<typeof reference>;
  const cases: Array<[string, (c: Client) => Promise<unknown>, string?]> = [
    ['mutation', (c) => c.echo.mutate({ text: 'hé & ?=/' })],
    ['query without input', (c) => c.whoami.query()],
    ['query with input to encode', (c) => c.find.query({ id: 'a b&c', note: 'ü?#' })],
    ['query on behalf of a user', (c) => c.whoami.query(undefined, asPrincipal({ kind: 'user', id: 'u1', roles: [] }))],
    ['mutation returning nothing', (c) => c.nothing.mutate()],
    ['domain error', (c) => c.find.query({ id: 'missing' })],
    ['bad input', (c) => c.echo.mutate({ text: 5 } as unknown as { text: string })],
    ['unauthenticated', (c) => c.whoami.query(undefined, { context: { anonymous: true } })],
    ['internal error', (c) => c.crash.mutate()],
    ['unknown procedure', (c) => (c as unknown as { nope: { query(): Promise<unknown> } }).nope.query()],
    ['an answer that is not JSON', (c) => c.whoami.query(), 'html'],
    ['nobody listening', (c) => c.whoami.query(), 'closed'],
  ];
  it.each(cases)('%s', async (_name, call, where) => {
    const url = where === 'html' ? htmlUrl : where === 'closed' ? 'http://127.0.0.1:9' : server.url;
    const kit = createServiceClient<typeof appRouter>({ baseUrl: url, getToken, timeoutMs: 2_000 });
    tokens.length = 0;
    const [a, b] = [await outcome(call(kit)), await outcome(call(reference(url)))];
    expect(a).toEqual(b);
    // Both asked for a token with the same call context.
    if (where !== 'closed') expect(tokens[0]).toEqual(tokens[1]);
  });

  it('a call already aborted fails as it does through httpLink, without a request', async () => {
    const controller = new AbortController();
    controller.abort();
    const kit = createServiceClient<typeof appRouter>({ baseUrl: server.url, getToken, timeoutMs: 2_000 });
    const [a, b] = [
      await outcome(kit.whoami.query(undefined, { signal: controller.signal })),
      await outcome(reference(server.url).whoami.query(undefined, { signal: controller.signal })),
    ];
    expect(a).toMatchObject({ ok: false, name: 'TRPCClientError', cause: { name: 'AbortError' } });
    expect(a).toEqual(b);
  });
});
