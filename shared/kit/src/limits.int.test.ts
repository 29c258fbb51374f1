import { request } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ServiceServer } from './http-server.js';
import { createLogger } from './logger.js';
import { createTrpc } from './trpc.js';
import { bearerIdentity, startTestServer } from '../test/support/test-server.js';

// Rule (ARCHITECTURE "Requests have limits"): a body over the limit is answered 413 without being
// read whole; a tRPC batch over the maximum is refused before any procedure runs; a user, agent or
// anonymous caller past its rate gets 429 with Retry-After, a service never does.
// A real server via startServiceServer, over real sockets; no store needed.

const MiB = 1_048_576;
const LIMITS = { maxBodyBytes: MiB, maxBatchCalls: 5, rateLimit: { requests: 8, anonymousRequests: 4, windowMs: 60_000 } };
const log = createLogger('limits-test', 'silent');

let ran = 0;
const { router, publicProcedure } = createTrpc();
const appRouter = router({
  echo: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/echo', protect: false } })
    .input(z.object({ text: z.string() }))
    .output(z.object({ text: z.string() }))
    .mutation(({ input }) => {
      ran += 1;
      return input;
    }),
  ping: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/ping', protect: false } })
    .input(z.object({}))
    .output(z.object({ ok: z.boolean() }))
    .query(() => {
      ran += 1;
      return { ok: true };
    }),
});

const createContext = bearerIdentity(log);

async function start(limits: Parameters<typeof startTestServer>[0]['limits']) {
  const sockets: Socket[] = [];
  const server = await startTestServer({
    name: 'limits-test',
    router: appRouter,
    createContext,
    log,
    limits,
  });
  server.server.on('connection', (s: Socket) => sockets.push(s));
  /** Bytes the server took off its sockets since the last call: what it really read. */
  const bytesRead = () => sockets.splice(0).reduce((n, s) => n + s.bytesRead, 0);
  return { server, bytesRead };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * POSTs `total` bytes, chunked or with Content-Length, writing as fast as the socket takes them
 * and stopping as soon as an answer arrives (what a well-behaved client does on an early 413).
 */
function postLarge(url: string, path: string, total: number, withLength: boolean): Promise<Answer & { sent: number }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    let sent = 0;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...(withLength ? { 'content-length': String(total) } : {}),
    };
    const req = request(`${url}${path}`, { method: 'POST', headers, agent: false }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sent }));
      res.on('error', reject);
    });
    // The server closes the connection after a 413: writes after that fail, which is expected.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!answered && !req.destroyed && sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && !req.destroyed) req.end();
    };
    pump();
  });
}

async function call(url: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

const PING = `/trpc/ping?input=${encodeURIComponent('{}')}`;
const problem = (a: Answer) => ({ contentType: a.headers['content-type'], body: JSON.parse(a.body) as Record<string, unknown> });

describe('request limits on a real server', () => {
  let s: { server: ServiceServer; bytesRead: () => number };
  beforeAll(async () => {
    s = await start(LIMITS);
  });
  afterAll(() => s.server.close());
  beforeEach(() => {
    ran = 0;
    s.bytesRead();
  });

  const SIXTY_MIB = 60 * MiB;
  for (const path of ['/trpc/echo', '/api/echo']) {
    for (const withLength of [true, false]) {
      it(`a 60 MiB body ${withLength ? 'with Content-Length' : 'streamed chunked'} to ${path} gets 413 problem+json after at most about the limit is read`, async () => {
        const answer = await postLarge(s.server.url, path, SIXTY_MIB, withLength);
        // Let the server finish closing so its byte count is final.
        await new Promise((r) => setTimeout(r, 100));
        const read = s.bytesRead();
        expect(answer.status).toBe(413);
        const p = problem(answer);
        expect(p.contentType).toBe('application/problem+json');
        expect(p.body).toMatchObject({
          type: 'https://agent-platform.dev/problems/payload-too-large',
          title: 'Content Too Large',
          status: 413,
          code: 'PAYLOAD_TOO_LARGE',
          instance: path,
          maxBodyBytes: MiB,
        });
        expect(p.body['detail']).toMatch(/exceeds the limit of 1048576 bytes/);
        expect(answer.headers['connection']).toBe('close');
        expect(ran).toBe(0);
        // The server read no more than the limit plus socket-sized slack, never the 60 MiB.
        // With Content-Length nothing of the body is read on purpose: only what was in flight.
        expect(read).toBeLessThan(withLength ? MiB / 2 : 2 * MiB);
      });
    }
  }

  it('a body within the limit reaches the procedure over /trpc and /api', async () => {
    const text = 'x'.repeat(MiB - 100);
    const viaTrpc = await call(s.server.url, '/trpc/echo', { body: { text }, token: 'service:svc' });
    expect(viaTrpc.status).toBe(200);
    expect((JSON.parse(viaTrpc.body) as { result: { data: { text: string } } }).result.data.text).toHaveLength(text.length);
    const viaRest = await call(s.server.url, '/api/echo', { body: { text: 'hi' }, token: 'service:svc' });
    expect(viaRest.status).toBe(200);
    expect(JSON.parse(viaRest.body)).toEqual({ text: 'hi' });
    expect(ran).toBe(2);
  });

  it('malformed JSON over /api keeps the adapter’s PARSE_ERROR answer', async () => {
    const res = await fetch(`${s.server.url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer service:svc' },
      body: '{"text":',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'PARSE_ERROR' });
    expect(ran).toBe(0);
  });

  it('a tRPC batch over the maximum is refused with 400 naming the maximum, and no procedure runs', async () => {
    const six = Array.from({ length: 6 }, () => 'ping').join(',');
    const input = encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [i, {}]))));
    const refused = await call(s.server.url, `/trpc/${six}?batch=1&input=${input}`, { token: 'service:svc' });
    expect(refused.status).toBe(400);
    const p = problem(refused);
    expect(p.contentType).toBe('application/problem+json');
    expect(p.body).toMatchObject({ type: 'https://agent-platform.dev/problems/bad-request', status: 400, maxBatchCalls: 5 });
    expect(p.body['detail']).toMatch(/batch of 6 calls exceeds the maximum of 5/);
    expect(ran).toBe(0);

    const five = Array.from({ length: 5 }, () => 'ping').join(',');
    const input5 = encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [i, {}]))));
    const allowed = await call(s.server.url, `/trpc/${five}?batch=1&input=${input5}`, { token: 'service:svc' });
    expect(allowed.status).toBe(200);
    expect(ran).toBe(5);
  });

  it('an input nested deeper than MAX_JSON_DEPTH is refused with 400 before parsing, in a body or in ?input=, and no procedure runs', async () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const body = await call(s.server.url, '/trpc/echo', {
      token: 'service:svc',
      method: 'POST',
      body: JSON.parse(`{"text":"x","extra":${deep(64)}}`),
    });
    expect(body.status).toBe(400);
    const p = problem(body);
    expect(p.body).toMatchObject({ type: 'https://agent-platform.dev/problems/bad-request', status: 400, maxJsonDepth: 64 });
    expect(p.body['detail']).toMatch(/deeper than 64 levels \(MAX_JSON_DEPTH\)/);
    const rest = await call(s.server.url, '/api/echo', {
      token: 'service:svc',
      method: 'POST',
      body: JSON.parse(`{"text":${deep(2_000)}}`),
    });
    expect(rest.status).toBe(400);
    expect(problem(rest).body).toMatchObject({ maxJsonDepth: 64 });
    const query = await call(s.server.url, `/trpc/ping?input=${encodeURIComponent(`{"x":${deep(100)}}`)}`, { token: 'service:svc' });
    expect(query.status).toBe(400);
    expect(ran).toBe(0);
    // At the limit it reaches the procedure, whose own schema then judges the shape (echo's drops `extra`).
    const atLimit = await call(s.server.url, '/trpc/echo', {
      token: 'service:svc',
      method: 'POST',
      body: JSON.parse(`{"text":"x","extra":${deep(63)}}`),
    });
    expect(atLimit.status).toBe(200);
    expect(ran).toBe(1);
  });

  it('a user past its rate gets 429 with Retry-After (tRPC and REST count together); a service is never limited', async () => {
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 10; i++) {
      last = await call(s.server.url, i % 2 ? '/api/ping' : PING, { token: 'user:burst-alice' });
      statuses.push(last.status);
    }
    // Bucket of 8: eight pass, then refusals.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);
    expect(last!.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    // 8 per 60 s refills one call per 7.5 s: the wait is about that, never the whole window.
    expect(Number(last!.headers['retry-after'])).toBeLessThanOrEqual(8);
    expect(last!.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(last!.body)).toMatchObject({
      type: 'https://agent-platform.dev/problems/too-many-requests',
      status: 429,
      code: 'TOO_MANY_REQUESTS',
    });

    const trpc429 = await call(s.server.url, PING, { token: 'user:burst-alice' });
    expect(trpc429.status).toBe(429);
    expect(trpc429.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(JSON.parse(trpc429.body)).toMatchObject({
      error: {
        data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, type: 'https://agent-platform.dev/problems/too-many-requests', status: 429 },
      },
    });

    // Another user has a bucket of its own; the same id as an agent is another principal.
    expect((await call(s.server.url, PING, { token: 'user:burst-bob' })).status).toBe(200);
    expect((await call(s.server.url, PING, { token: 'agent:burst-alice' })).status).toBe(200);

    const service = await Promise.all(Array.from({ length: 30 }, () => call(s.server.url, PING, { token: 'service:burst-svc' })));
    expect(service.map((a) => a.status)).toEqual(Array.from({ length: 30 }, () => 200));
  });

  it('a batch costs one call per procedure in it', async () => {
    const batch = (n: number) =>
      `/trpc/${Array.from({ length: n }, () => 'ping').join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, {}]))))}`;
    expect((await call(s.server.url, batch(5), { token: 'user:batch-carol' })).status).toBe(200);
    expect((await call(s.server.url, batch(3), { token: 'user:batch-carol' })).status).toBe(200);
    const refused = await call(s.server.url, batch(1), { token: 'user:batch-carol' });
    expect(refused.status).toBe(429);
    expect(ran).toBe(8);
  });

  it('anonymous callers are limited per remote address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(s.server.url, PING)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });
});

describe('rate limiting switched off', () => {
  it('lets a burst far past the limit through', async () => {
    const s = await start({ rateLimit: { enabled: false, requests: 1, anonymousRequests: 1 } });
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => call(s.server.url, PING, { token: 'user:free' })));
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 20 }, () => 200));
    } finally {
      await s.server.close();
    }
  });
});
