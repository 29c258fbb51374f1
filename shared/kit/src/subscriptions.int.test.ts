import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, type TRPCClientError } from '@trpc/client';
import { tracked } from '@trpc/server';
import { EventSource } from 'eventsource';
import { EventEmitter, once } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ServiceServer } from './http-server.js';
import { createLogger } from './logger.js';
import { LastEventId, parseEventId } from './subscriptions.js';
import { createTrpc } from './trpc.js';
import { bearerIdentity, startTestServer } from '../test/support/test-server.js';

// Subscriptions over SSE through the kit's server, over real sockets with tRPC's own client:
// a token in the Authorization header (an EventSource that can send one) or in connectionParams
// (a browser's cannot) names the same principal; no token is UNAUTHORIZED; a subscriber that
// reconnects with its last event id, or whose connection drops, resumes with no gap and no
// duplicate; a user or agent holds at most SUBSCRIPTIONS_PER_PRINCIPAL streams; closing the server
// ends open streams instead of waiting for them. No store needed.

const log = createLogger('subscriptions-test', 'silent');
const feed: number[] = [];
const pushed = new EventEmitter();
const push = (n: number) => {
  for (let i = 0; i < n; i++) feed.push(feed.length + 1);
  pushed.emit('push');
};

const { router, authedProcedure, publicProcedure } = createTrpc();
const appRouter = router({
  whoami: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/whoami', protect: false } })
    .input(z.object({}))
    .output(z.object({ id: z.string().nullable() }))
    .query(({ ctx }) => ({ id: ctx.principal?.id ?? null })),
  // The feed after `lastEventId`, then every new entry: what the services' streams do over their stores.
  feed: authedProcedure.input(z.strictObject({ lastEventId: LastEventId.optional() })).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    let next = parseEventId(input.lastEventId) + 1;
    for (;;) {
      while (next <= feed.length) {
        yield tracked(String(next), { n: next, who: ctx.principal.id });
        next++;
      }
      await once(pushed, 'push', { signal });
    }
  }),
});

const createContext = bearerIdentity(log);

let server: ServiceServer;
beforeAll(async () => {
  server = await startTestServer({
    name: 'subscriptions-test',
    router: appRouter,
    createContext,
    log,
    subscriptions: { perPrincipal: 2 },
  });
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  feed.length = 0;
});

type Auth = { header: string } | { connectionParams: string } | null;

function client(auth: Auth) {
  const url = `${server.url}/trpc`;
  const header = auth && 'header' in auth ? auth.header : undefined;
  return createTRPCClient<typeof appRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource,
          // An EventSource that can send headers (the `eventsource` package, through its fetch).
          eventSourceOptions: () => ({
            fetch: (input: string | URL, init: RequestInit) =>
              fetch(input, {
                ...init,
                headers: { ...(init.headers as Record<string, string>), ...(header ? { authorization: header } : {}) },
              }),
          }),
          ...(auth && 'connectionParams' in auth ? { connectionParams: { token: auth.connectionParams } } : {}),
        }),
        false: httpLink({ url, headers: header ? { authorization: header } : {} }),
      }),
    ],
  });
}

/** One subscription's events, its error, and a way to wait for either. */
function subscribe(auth: Auth, lastEventId?: string) {
  const events: Array<{ id: string; n: number; who: string }> = [];
  const changed = new EventEmitter();
  let error: TRPCClientError<typeof appRouter> | undefined;
  const sub = client(auth).feed.subscribe(lastEventId === undefined ? {} : { lastEventId }, {
    onData: ({ id, data }) => {
      events.push({ id, ...data });
      changed.emit('change');
    },
    onError: (err) => {
      error = err;
      changed.emit('change');
    },
  });
  const until = async (done: () => boolean, what: string) => {
    const deadline = AbortSignal.timeout(10_000);
    while (!done()) {
      try {
        await once(changed, 'change', { signal: deadline });
      } catch {
        throw new Error(`timed out waiting for ${what}; events ${JSON.stringify(events)}, error ${String(error)}`);
      }
    }
  };
  return {
    events,
    get error() {
      return error;
    },
    count: (n: number) => until(() => events.length >= n, `${n} events`),
    failed: () => until(() => error !== undefined, 'an error'),
    stop: () => sub.unsubscribe(),
  };
}

const ids = (events: Array<{ id: string }>) => events.map((e) => Number(e.id));
/** Until the server has let go of every stream (the client's unsubscribe closes the socket). */
async function drained() {
  for (let i = 0; i < 200 && server.subscriptions.size > 0; i++) await new Promise((r) => setTimeout(r, 25));
  expect(server.subscriptions.size).toBe(0);
}

describe('subscriptions over server-sent events', () => {
  it('authenticates with the Authorization header or with connectionParams, as the same principal', async () => {
    push(2);
    const byHeader = subscribe({ header: 'Bearer user:alice' });
    const byParams = subscribe({ connectionParams: 'user:alice' });
    await Promise.all([byHeader.count(2), byParams.count(2)]);
    expect(byHeader.events).toEqual([
      { id: '1', n: 1, who: 'alice' },
      { id: '2', n: 2, who: 'alice' },
    ]);
    expect(byParams.events).toEqual(byHeader.events);
    byHeader.stop();
    byParams.stop();
    await drained();
  });

  it('refuses a subscription without a token (UNAUTHORIZED), and a token in connectionParams for anything but a subscription', async () => {
    const anonymous = subscribe(null);
    await anonymous.failed();
    expect(anonymous.error?.data?.code).toBe('UNAUTHORIZED');
    expect(anonymous.events).toEqual([]);
    // The same token in the URL of a query is not a credential.
    const q = await fetch(
      `${server.url}/trpc/whoami?input=${encodeURIComponent('{}')}&connectionParams=${encodeURIComponent(JSON.stringify({ token: 'user:alice' }))}`,
    );
    expect(await q.json()).toMatchObject({ result: { data: { id: null } } });
    await drained();
  });

  it('resumes after the last event id it was given: no gap, no duplicate', async () => {
    push(3);
    const first = subscribe({ header: 'Bearer user:bob' });
    await first.count(3);
    first.stop();
    push(2); // 4 and 5 happen while nobody listens
    const again = subscribe({ header: 'Bearer user:bob' }, first.events.at(-1)!.id);
    await again.count(2);
    push(1);
    await again.count(3);
    expect(ids(first.events)).toEqual([1, 2, 3]);
    expect(ids(again.events)).toEqual([4, 5, 6]);
    again.stop();
    await drained();
  });

  it('a stream the server drops is resumed by the client by itself (Last-Event-ID), with no gap and no duplicate', async () => {
    push(2);
    const sub = subscribe({ connectionParams: 'user:carol' });
    await sub.count(2);
    server.subscriptions.closeAll(); // what a shutdown or the 15-minute stream lifetime does
    push(2);
    await sub.count(4);
    push(1);
    await sub.count(5);
    expect(ids(sub.events)).toEqual([1, 2, 3, 4, 5]);
    sub.stop();
    await drained();
  });

  it('holds at most SUBSCRIPTIONS_PER_PRINCIPAL streams per user (TOO_MANY_REQUESTS past it); services are not limited', async () => {
    push(1);
    const a = subscribe({ header: 'Bearer agent:dave' });
    const b = subscribe({ header: 'Bearer agent:dave' });
    await Promise.all([a.count(1), b.count(1)]);
    const c = subscribe({ header: 'Bearer agent:dave' });
    await c.failed();
    expect(c.error?.data?.code).toBe('TOO_MANY_REQUESTS');
    const other = subscribe({ header: 'Bearer agent:erin' });
    await other.count(1);
    const services = [1, 2, 3].map(() => subscribe({ header: 'Bearer service:operations' }));
    await Promise.all(services.map((s) => s.count(1)));
    a.stop();
    await new Promise((r) => setTimeout(r, 200));
    const d = subscribe({ header: 'Bearer agent:dave' });
    await d.count(1);
    for (const s of [b, d, other, ...services]) s.stop();
    await drained();
  });

  it('closing the server ends open streams at once instead of waiting for them', async () => {
    const extra = await startTestServer({
      name: 'subscriptions-close',
      router: appRouter,
      createContext,
      log,
    });
    push(1);
    const res = await fetch(`${extra.url}/trpc/feed?input=${encodeURIComponent('{}')}`, {
      headers: { authorization: 'Bearer user:frank', accept: 'text/event-stream' },
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    await reader.read();
    expect(extra.subscriptions.size).toBe(1);
    const started = performance.now();
    await extra.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    // The connection is cut (the client sees the stream end or the socket close) and EventSource reconnects.
    const ended = await (async () => {
      try {
        for (;;) if ((await reader.read()).done) return 'ended';
      } catch (err) {
        return err instanceof TypeError && err.message === 'terminated' ? 'ended' : String(err);
      }
    })();
    expect(ended).toBe('ended');
  });
});
