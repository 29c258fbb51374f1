// tRPC request overhead next to a plain node:http server, both on loopback in the same run:
// what the kit's server (auth, zod in/out, error mapping) costs per call.
import { createLogger, createServiceClient, createTrpc, contextFactory, startServiceServer } from '@platform/kit';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { percentile, round, writeBenchResult } from '@platform/testkit';
import { devToken, DEV_AUTH } from '@platform/testkit';

const N = Number(process.env['BENCH_HTTP_REQUESTS'] ?? 3_000);
const CONCURRENCY = 8;

const { router, authedProcedure } = createTrpc();
const echoRouter = router({
  echo: authedProcedure
    .meta({ openapi: { method: 'POST', path: '/echo', protect: true } })
    .input(z.object({ text: z.string().max(100) }))
    .output(z.object({ text: z.string(), by: z.string() }))
    .mutation(({ input, ctx }) => ({ text: input.text, by: ctx.principal.id })),
});
const log = createLogger('bench-http', 'silent');
const trpcServer = await startServiceServer({
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

// A service caller (services are never rate limited; a user would hit RATE_LIMIT_REQUESTS within the run).
const token = await devToken({ kind: 'service', id: 'knowledge', roles: [] });
const client = createServiceClient<typeof echoRouter>({ baseUrl: trpcServer.url, getToken: async () => token });

async function run(call: () => Promise<unknown>): Promise<{ latencies: number[]; seconds: number }> {
  for (let i = 0; i < 200; i++) await call(); // warm-up
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) {
        const s = performance.now();
        await call();
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - t0) / 1000 };
}

const rows: Array<Array<string | number>> = [];
for (const [name, call] of [
  ['plain node:http (baseline)', () => fetch(plainUrl, { method: 'POST', body: '{"text":"hi"}' }).then((r) => r.text())],
  ['tRPC mutation via kit (JWT + zod)', () => client.echo.mutate({ text: 'hi' })],
] as const) {
  const { latencies, seconds } = await run(call);
  rows.push([name, N, CONCURRENCY, round(N / seconds, 0), round(percentile(latencies, 50)), round(percentile(latencies, 95)), round(percentile(latencies, 99))]);
}
writeBenchResult('http', [
  { title: 'Request overhead on loopback', columns: ['server', 'requests', 'concurrency', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms'], rows },
]);
await trpcServer.close();
plain.close();
