// Profiling aid (not part of `npm run bench`): one contender of bench/http.ts alone, so a
// `--cpu-prof` of this process shows only that path. BENCH_PROFILE=kit|plain, BENCH_HTTP_REQUESTS.
import { createServiceClient } from '@platform/kit';
import { devToken } from '@platform/testkit';
import { startEchoService, startPlainEcho, type EchoRouter } from './echo-contenders.js';

const N = Number(process.env['BENCH_HTTP_REQUESTS'] ?? 20_000);
const which = process.env['BENCH_PROFILE'] ?? 'kit';
const srv = await startEchoService('bench');
const { server: plain, url: plainUrl } = await startPlainEcho();
const token = await devToken({ kind: 'service', id: 'knowledge', roles: [] });
const client = createServiceClient<EchoRouter>({ baseUrl: srv.url, getToken: async () => token });
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
