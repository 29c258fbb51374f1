import { context, propagation, ROOT_CONTEXT, trace, type Context, type ContextManager, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import type { ServiceServer } from './http-server.js';
import { createLogger } from './logger.js';
import { createServiceClient } from './trpc-client.js';
import { createTrpc } from './trpc.js';
import { bearerIdentity, startTestServer } from '../test/support/test-server.js';

// The batch client and traces: a batch is one HTTP request with one traceparent header, so calls
// made in the same tick under different spans (an agent's job reports, its claims) must go in
// separate requests, each with its own parent; calls of one span still share a request.

/** The two pieces of the OTel SDK a trace needs here: a context per async flow and W3C traceparent. */
class AlsContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) {
    return this.als.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable = () => this;
  disable = () => this;
}
const traceparentPropagator: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const span = trace.getSpanContext(ctx);
    if (span) setter.set(carrier, 'traceparent', `00-${span.traceId}-${span.spanId}-01`);
  },
  extract: (ctx) => ctx,
  fields: () => ['traceparent'],
};

const log = createLogger('client-trace-test', 'silent');
const { router, authedProcedure } = createTrpc();
const appRouter = router({
  echo: authedProcedure.input(z.object({ text: z.string() })).mutation(({ input }) => ({ text: input.text })),
});
const requests: Array<{ url: string; traceparent: string | undefined }> = [];
let server: ServiceServer;
beforeAll(async () => {
  context.setGlobalContextManager(new AlsContextManager());
  propagation.setGlobalPropagator(traceparentPropagator);
  const identity = bearerIdentity(log);
  server = await startTestServer({
    name: 'client-trace-test',
    router: appRouter,
    log,
    createContext: (opts: { req: IncomingMessage }) => {
      requests.push({ url: opts.req.url ?? '', traceparent: opts.req.headers['traceparent'] as string | undefined });
      return identity(opts);
    },
  });
});
afterAll(async () => {
  await server?.close();
  context.disable();
  propagation.disable();
});
/** A context whose active span is a fresh span of `traceId`. */
const spanOf = (traceId: string) => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 });

it('sends calls of different spans made in one tick as separate requests, each with its own traceparent; calls of one span share a request', async () => {
  const client = createServiceClient<typeof appRouter>({
    baseUrl: server.url,
    getToken: async () => 'agent:trace-test',
    batch: { maxItems: 20 },
  });
  const [a, b] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
  requests.length = 0;
  // In one tick: two calls from one span of trace a, one from a span of trace b, one outside any trace.
  const [spanA, spanB] = [spanOf(a), spanOf(b)];
  const answers = await Promise.all([
    context.with(spanA, () => client.echo.mutate({ text: 'a1' })),
    context.with(spanB, () => client.echo.mutate({ text: 'b1' })),
    client.echo.mutate({ text: 'none' }),
    context.with(spanA, () => client.echo.mutate({ text: 'a2' })),
  ]);
  expect(answers.map((x) => x.text)).toEqual(['a1', 'b1', 'none', 'a2']);
  const traceOf = (tp: string | undefined) => tp?.split('-')[1];
  const byTrace = new Map(requests.map((r) => [traceOf(r.traceparent) ?? 'none', r.url]));
  expect(requests).toHaveLength(3);
  expect(byTrace.get(a)).toMatch(/^\/trpc\/echo,echo\?batch=1/);
  expect(byTrace.get(b)).toMatch(/^\/trpc\/echo\?batch=1/);
  expect(byTrace.get('none')).toMatch(/^\/trpc\/echo\?batch=1/);
});
