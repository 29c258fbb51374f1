import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import type { ServiceServer } from './http-server.js';
import { createLogger } from './logger.js';
import { createServiceClient } from './trpc-client.js';
import { createTrpc } from './trpc.js';
import { bearerIdentity, startTestServer } from '../test/support/test-server.js';

// The service client's timeout and cancellation (one AbortController for both, trpc-client.ts),
// over real sockets: a server that never answers, and one that does.

const log = createLogger('client-test', 'silent');
const { router, authedProcedure } = createTrpc();
const appRouter = router({ echo: authedProcedure.input(z.object({ text: z.string() })).mutation(({ input }) => ({ text: input.text })) });

let server: ServiceServer;
let silent: Server;
let silentUrl: string;
beforeAll(async () => {
  server = await startTestServer({ name: 'client-test', router: appRouter, createContext: bearerIdentity(log), log });
  silent = createServer(() => undefined); // reads the request, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await server?.close();
  silent?.closeAllConnections();
  await new Promise((r) => silent?.close(r));
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
