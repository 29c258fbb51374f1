// The contenders of bench/http.ts (and its profiling aid bench/http-profile.ts): one authed echo
// mutation served by the kit, and a plain node:http handler that answers the same body.
import { contextFactory, createLogger, createTrpc, startServiceServer, type TokenVerifier } from '@platform/kit';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { DEV_AUTH } from '@platform/testkit';

const { router, authedProcedure } = createTrpc();
export const echoRouter = router({
  echo: authedProcedure
    .meta({ openapi: { method: 'POST', path: '/echo', protect: true } })
    .input(z.object({ text: z.string().max(100) }))
    .output(z.object({ text: z.string(), by: z.string() }))
    .mutation(({ input, ctx }) => ({ text: input.text, by: ctx.principal.id })),
});
export type EchoRouter = typeof echoRouter;

const log = createLogger('bench-http', 'silent');

/** The echo router served by the kit's server on a free loopback port. */
export function startEchoService(name: string, opts: { verifier?: TokenVerifier; directCalls?: boolean } = {}) {
  return startServiceServer({
    name,
    router: echoRouter,
    createContext: contextFactory(opts.verifier ?? DEV_AUTH.verifier, log),
    readiness: {},
    openapi: { title: name, version: '0' },
    log,
    host: '127.0.0.1',
    port: 0,
    readinessTimeoutMs: 1_000,
    ...(opts.directCalls === undefined ? {} : { directCalls: opts.directCalls }),
  });
}

/** A plain node:http server answering each POST with its body, and its URL. */
export async function startPlainEcho(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
