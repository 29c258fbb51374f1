import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createKnowledgeClient,
  createPlatformClient,
  HttpStatusError,
  TRPCClientError,
  type KnowledgeRouter,
  type PlatformClientOptions,
} from '../src/index.js';
import { startFaultServer } from './fault-server.js';

// The client against a real HTTP server (tRPC's node adapter) that fails on demand: what goes on
// the wire, what is retried and what is not, and how long it waits.
let server: Awaited<ReturnType<typeof startFaultServer>>;
beforeEach(async () => {
  server = await startFaultServer();
});
afterEach(async () => {
  await server.close();
});

const client = (opts: Partial<Omit<PlatformClientOptions<'knowledge'>, 'service'>> = {}) =>
  createKnowledgeClient({ url: server.url, token: () => 'tok', retries: { retries: 2, baseDelayMs: 10, maxDelayMs: 20 }, ...opts });

async function failure(p: Promise<unknown>): Promise<TRPCClientError<KnowledgeRouter>> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCClientError);
  return err as TRPCClientError<KnowledgeRouter>;
}

describe('token provider', () => {
  it('is asked for every request, so a refreshed token is used from the next call on', async () => {
    let n = 0;
    const c = client({ token: async () => `tok-${++n}` });
    await c.blocks.get.query({ id: 'a' });
    await c.blocks.get.query({ id: 'b' });
    expect(server.seen.map((r) => r.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('is asked again for a retry', async () => {
    let n = 0;
    server.fail({ kind: 'status', status: 503 });
    await client({ token: () => `tok-${++n}` }).blocks.get.query({ id: 'a' });
    expect(server.seen.map((r) => r.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('sends nothing when it returns no token', async () => {
    const err = await failure(client({ token: () => '' }).blocks.get.query({ id: 'a' }));
    expect(err.message).toMatch(/no token/);
    expect(server.seen).toHaveLength(0);
  });

  it('goes with the extra headers, which cannot replace it', async () => {
    await client({
      headers: () => ({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', authorization: 'Bearer forged' }),
    }).blocks.get.query({ id: 'a' });
    expect(server.seen[0]).toMatchObject({
      authorization: 'Bearer tok',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });
});

describe('retries', () => {
  it.each([502, 503, 504])('retry a query after a proxy %i and return its result', async (status) => {
    server.fail({ kind: 'status', status });
    await expect(client().blocks.get.query({ id: 'a' })).resolves.toMatchObject({ id: 'a', title: 'block a' });
    expect(server.seen).toHaveLength(2);
  });

  it('retry a query the service itself refused with 503 (a tRPC error body)', async () => {
    server.fail({ kind: 'trpc-unavailable' });
    await expect(client().blocks.get.query({ id: 'a' })).resolves.toMatchObject({ id: 'a' });
    expect(server.seen).toHaveLength(2);
  });

  it('stop after the configured retries and report the last status', async () => {
    server.fail(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 503 })));
    const err = await failure(client().blocks.get.query({ id: 'a' }));
    expect(server.seen).toHaveLength(3);
    expect(err.cause).toBeInstanceOf(HttpStatusError);
    expect((err.cause as HttpStatusError).status).toBe(503);
  });

  it('never retry a mutation, even after a 503', async () => {
    server.fail({ kind: 'status', status: 503 });
    await failure(client().blocks.create.mutate({ title: 't', type: 'Decision', sessionId: 's' }));
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]?.method).toBe('POST');
    expect(server.createCalls).toBe(0);
  });

  it('never retry a mutation whose connection broke (it may have taken effect)', async () => {
    server.fail({ kind: 'reset' });
    await failure(client().blocks.create.mutate({ title: 't', type: 'Decision', sessionId: 's' }));
    expect(server.seen).toHaveLength(1);
  });

  it.each([400, 401, 403, 404, 500])('do not retry a query answered %i', async (status) => {
    server.fail({ kind: 'status', status });
    await failure(client().blocks.get.query({ id: 'a' }));
    expect(server.seen).toHaveLength(1);
  });

  it('do not retry a query the server refused as invalid input', async () => {
    // @ts-expect-error -- id must be a string; the server's zod check refuses it (400)
    const err = await failure(client().blocks.get.query({ id: 42 }));
    expect(err.data?.code).toBe('BAD_REQUEST');
    expect(server.seen).toHaveLength(1);
  });

  it('retry a query whose connection was reset', async () => {
    server.fail({ kind: 'reset' });
    await expect(client().blocks.get.query({ id: 'a' })).resolves.toMatchObject({ id: 'a' });
    expect(server.seen).toHaveLength(2);
  });

  it('retry nothing with retries: 0', async () => {
    server.fail({ kind: 'status', status: 503 });
    await failure(client({ retries: 0 }).blocks.get.query({ id: 'a' }));
    expect(server.seen).toHaveLength(1);
  });

  it('wait as long as a 429 Retry-After asks before retrying', async () => {
    server.fail({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    await expect(client().blocks.get.query({ id: 'a' })).resolves.toMatchObject({ id: 'a' });
    expect(server.seen).toHaveLength(2);
    const [first, second] = server.seen;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it('fail at once when Retry-After is longer than maxRetryAfterMs', async () => {
    server.fail({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    const started = Date.now();
    const err = await failure(client().blocks.get.query({ id: 'a' }));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((err.cause as HttpStatusError).status).toBe(429);
    expect(server.seen).toHaveLength(1);
  });

  it('send unbatched calls one request each when batch is false, with the same retries', async () => {
    server.fail({ kind: 'status', status: 502 });
    const c = client({ batch: false });
    await expect(Promise.all([c.blocks.get.query({ id: 'a' }), c.blocks.get.query({ id: 'b' })])).resolves.toHaveLength(2);
    expect(server.seen).toHaveLength(3);
    expect(server.seen.every((r) => !r.path.includes(','))).toBe(true);
  });

  it('batch calls of one tick into one request', async () => {
    const c = client();
    await Promise.all([c.blocks.get.query({ id: 'a' }), c.blocks.get.query({ id: 'b' })]);
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]?.path).toBe('/trpc/blocks.get,blocks.get');
  });
});

describe('timeouts', () => {
  it('abort a request that gets no answer within timeoutMs', async () => {
    server.fail({ kind: 'hang' });
    const started = Date.now();
    const err = await failure(client({ timeoutMs: 300, retries: 0 }).blocks.get.query({ id: 'a' }));
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
    expect((err.cause as Error | undefined)?.name).toBe('TimeoutError');
  });

  it('give each retry its own timeout, and succeed when the retry is answered', async () => {
    server.fail({ kind: 'hang' });
    await expect(client({ timeoutMs: 300 }).blocks.get.query({ id: 'a' })).resolves.toMatchObject({ id: 'a' });
    expect(server.seen).toHaveLength(2);
  });

  it('do not retry a call the caller aborted', async () => {
    server.fail({ kind: 'hang' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await failure(client({ timeoutMs: 5_000 }).blocks.get.query({ id: 'a' }, { signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 200));
    expect(server.seen).toHaveLength(1);
  });
});

describe('options', () => {
  it('refuse a timeout or retry count that cannot work', () => {
    expect(() => createPlatformClient({ service: 'operations', url: server.url, token: () => 't', timeoutMs: 0 })).toThrow(RangeError);
    expect(() => createPlatformClient({ service: 'operations', url: server.url, token: () => 't', retries: -1 })).toThrow(RangeError);
  });
});
