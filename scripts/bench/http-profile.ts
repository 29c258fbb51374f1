// Profiling aid (not part of `npm run bench`): one contender of bench/http.ts alone, so a
// `--cpu-prof` of this process shows only that path. BENCH_PROFILE=kit|plain, BENCH_HTTP_REQUESTS.
import { contextFactory, createLogger, createServiceClient, createTrpc, startServiceServer } from '@platform/kit';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { devToken, DEV_AUTH } from '@platform/testkit';

const N = Number(process.env['BENCH_HTTP_REQUESTS'] ?? 20_000);
const which = process.env['BENCH_PROFILE'] ?? 'kit';
const { router, authedProcedure } = createTrpc();
const echoRouter = router({
  echo: authedProcedure
    .meta({ openapi: { method: 'POST', path: '/echo', protect: true } })
    .input(z.object({ text: z.string().max(100) }))
    .output(z.object({ text: z.string(), by: z.string() }))
    .mutation(({ input, ctx }) => ({ text: input.text, by: ctx.principal.id })),
});
const log = createLogger('bench-http', 'silent');
const srv = await startServiceServer({
  name: 'bench',
  router: echoRouter,
  createContext: contextFactory(DEV_AUTH.verifier, log),
  readiness: {},
  openapi: { title: 'bench', version: '0' },
  log,
  host: '127.0.0.1',
  port: 0,
  readinessTimeoutMs: 1_000,
});
const plain = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
});
await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`;
const token = await devToken({ kind: 'service', id: 'knowledge', roles: [] });
const client = createServiceClient<typeof echoRouter>({ baseUrl: srv.url, getToken: async () => token });
const call =
  which === 'plain'
    ? () => fetch(plainUrl, { method: 'POST', body: '{"text":"hi"}' }).then((r) => r.text())
    : () => client.echo.mutate({ text: 'hi' });
for (let i = 0; i < 500; i++) await call();
let next = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next++ < N) await call();
  }),
);
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(`${which}: ${N} calls, ${Math.round(N / secs)} req/s, CPU ${Math.round((cpu.user + cpu.system) / N)} µs/call`);
await srv.close();
plain.close();
