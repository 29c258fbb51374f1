import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { corsEnv, corsSettings } from './cors.js';
import type { ServiceServer } from './http-server.js';
import { createLogger } from './logger.js';
import { createTrpc, type RequestContext } from './trpc.js';
import { startTestServer } from '../test/support/test-server.js';

// Rule (issue 13, item 4): browsers may call a service only from the origins in CORS_ORIGINS.
// An allowed origin gets its own origin back (never `*`) and a 204 preflight naming the allowed
// methods and headers; any other origin gets no CORS header and a 403 preflight; with the variable
// unset (production's default) no origin is allowed. A real server over real sockets.

const log = createLogger('cors-test', 'silent');
const { router, publicProcedure } = createTrpc();
const appRouter = router({
  ping: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/ping', protect: false } })
    .input(z.object({}))
    .output(z.object({ ok: z.boolean() }))
    .query(() => ({ ok: true })),
});
const createContext = async (_: { req: IncomingMessage }): Promise<RequestContext> => ({ principal: null, authError: null, log });

const DEV = 'http://localhost:3000,http://localhost:5173, http://localhost:8000';
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
  'access-control-expose-headers',
  'access-control-allow-credentials',
];

async function start(env: Record<string, string>): Promise<ServiceServer> {
  return startTestServer({
    name: 'cors-test',
    router: appRouter,
    createContext,
    log,
    cors: corsSettings(corsEnv.parse(env)),
  });
}

const corsHeadersOf = (res: Response) => CORS_HEADERS.filter((h) => res.headers.has(h));
const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,traceparent',
    },
  });
const PING = `/trpc/ping?input=${encodeURIComponent('{}')}`;

describe('CORS with the development allow-list', () => {
  let server: ServiceServer;
  beforeAll(async () => {
    server = await start({ CORS_ORIGINS: DEV });
  });
  afterAll(() => server?.close());

  for (const origin of ['http://localhost:3000', 'http://localhost:5173', 'http://localhost:8000']) {
    it(`a preflight from ${origin} is answered 204 with the allowed methods, headers and max age`, async () => {
      for (const path of ['/trpc/ping', '/api/ping']) {
        const res = await preflight(`${server.url}${path}`, origin);
        expect(res.status).toBe(204);
        expect(res.headers.get('access-control-allow-origin')).toBe(origin);
        expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST,OPTIONS');
        expect(res.headers.get('access-control-allow-headers')).toBe('authorization,content-type,traceparent');
        expect(res.headers.get('access-control-max-age')).toBe('600');
        expect(res.headers.get('vary')).toBe('Origin');
        expect(await res.text()).toBe('');
      }
    });
  }

  it('an allowed origin gets its origin back on the real answer (and on an error), with Retry-After readable', async () => {
    const origin = 'http://localhost:5173';
    for (const path of [PING, '/api/ping']) {
      const res = await fetch(`${server.url}${path}`, { headers: { origin } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-expose-headers')).toBe('retry-after');
      expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
    }
    const error = await fetch(`${server.url}/api/nothing`, { headers: { origin } });
    expect(error.status).toBe(404);
    expect(error.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('another origin (another port, scheme or host) gets no CORS header, and its preflight 403 problem+json', async () => {
    for (const origin of ['http://localhost:3001', 'https://localhost:3000', 'http://evil.example', 'null']) {
      const res = await fetch(`${server.url}${PING}`, { headers: { origin } });
      expect(res.status).toBe(200); // the server answers; the browser withholds it from the page
      expect(corsHeadersOf(res)).toEqual([]);
      expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);

      const pre = await preflight(`${server.url}/api/ping`, origin);
      expect(pre.status).toBe(403);
      expect(corsHeadersOf(pre)).toEqual([]);
      expect(pre.headers.get('content-type')).toBe('application/problem+json');
      expect(await pre.json()).toMatchObject({ type: 'https://agent-platform.dev/problems/forbidden', status: 403, instance: '/api/ping' });
    }
  });

  it('a request without Origin (curl, a service) is untouched', async () => {
    const res = await fetch(`${server.url}${PING}`);
    expect(res.status).toBe(200);
    expect(corsHeadersOf(res)).toEqual([]);
  });
});

describe('CORS_ORIGINS unset (production default)', () => {
  let server: ServiceServer;
  beforeAll(async () => {
    server = await start({});
  });
  afterAll(() => server?.close());

  it('allows no origin at all, not even localhost', async () => {
    for (const origin of ['http://localhost:3000', 'http://localhost:5173', 'http://localhost:8000']) {
      const pre = await preflight(`${server.url}/trpc/ping`, origin);
      expect(pre.status).toBe(403);
      expect(corsHeadersOf(pre)).toEqual([]);
      const res = await fetch(`${server.url}${PING}`, { headers: { origin } });
      expect(res.status).toBe(200);
      expect(corsHeadersOf(res)).toEqual([]);
      // Nothing varies by Origin when no origin can be allowed.
      expect(res.headers.get('vary') ?? '').not.toMatch(/\bOrigin\b/);
    }
  });
});

describe('CORS_ORIGINS', () => {
  it('takes a comma-separated list of origins, empty meaning none', () => {
    expect(corsEnv.parse({}).CORS_ORIGINS).toEqual([]);
    expect(corsEnv.parse({ CORS_ORIGINS: '' }).CORS_ORIGINS).toEqual([]);
    expect(corsEnv.parse({ CORS_ORIGINS: DEV }).CORS_ORIGINS).toEqual([
      'http://localhost:3000',
      'http://localhost:5173',
      'http://localhost:8000',
    ]);
  });

  it('refuses what a browser never sends as an origin (a path, a trailing slash, a wildcard, a bare host)', () => {
    for (const bad of ['http://localhost:3000/', 'https://app.example/path', '*', 'localhost:3000', 'http://a.example,nonsense']) {
      expect(corsEnv.safeParse({ CORS_ORIGINS: bad }).success, bad).toBe(false);
    }
  });
});
