import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { z } from 'zod';

/** What the server does with the next request instead of answering it through tRPC. */
export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'trpc-unavailable' }
  | { kind: 'hang' }
  | { kind: 'reset' };

export interface SeenRequest {
  at: number;
  method: string;
  path: string;
  authorization: string | undefined;
  traceparent: string | undefined;
}

/**
 * A real HTTP server with the knowledge router's `blocks.get` (query) and `blocks.create`
 * (mutation) paths served by tRPC's node adapter, which fails requests on demand: queued faults
 * are used one per request, in order, before tRPC answers normally again.
 */
export async function startFaultServer() {
  const t = initTRPC.create();
  const faults: Fault[] = [];
  const seen: SeenRequest[] = [];
  let createCalls = 0;
  let unavailable = false;
  const refuseOnce = () => {
    if (!unavailable) return;
    unavailable = false;
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'draining' });
  };
  const router = t.router({
    blocks: t.router({
      get: t.procedure.input(z.object({ id: z.string() })).query(({ input }) => {
        refuseOnce();
        return { id: input.id, title: `block ${input.id}` };
      }),
      create: t.procedure.input(z.object({ title: z.string() }).passthrough()).mutation(({ input }) => {
        refuseOnce();
        createCalls += 1;
        return { id: `b${createCalls}`, title: input.title };
      }),
    }),
  });
  const trpc = createHTTPHandler({ router, basePath: '/trpc/' });
  const hung = new Set<ServerResponse>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({
      at: Date.now(),
      method: req.method ?? '',
      path: new URL(req.url ?? '/', 'http://x').pathname,
      authorization: req.headers.authorization,
      traceparent: req.headers.traceparent as string | undefined,
    });
    const fault = faults.shift();
    if (!fault) return void trpc(req, res);
    switch (fault.kind) {
      case 'status':
        res.writeHead(fault.status, { 'content-type': 'text/html', ...fault.headers }).end(fault.body ?? '<html>upstream failed</html>');
        return;
      case 'trpc-unavailable':
        // The procedure itself refuses: a tRPC error body (JSON) with status 503.
        unavailable = true;
        return void trpc(req, res);
      case 'hang':
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      case 'reset':
        req.socket.destroy();
        return;
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    fail: (...f: Fault[]) => void faults.push(...f),
    get createCalls() {
      return createCalls;
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
