// tRPC request overhead next to a plain node:http server, both on loopback in the same run:
// what the kit (its client, and its server: auth, zod in/out, error mapping, limits) costs per call.
import { authEnv, createServiceClient, verifierFromEnv } from '@platform/kit';
import { createTRPCClient, httpLink } from '@trpc/client';
import { percentile, round, writeBenchResult } from '@platform/testkit';
import { devToken, DEV_AUTH } from '@platform/testkit';
import { startEchoService, startPlainEcho, type EchoRouter } from './echo-contenders.js';

const N = Number(process.env['BENCH_HTTP_REQUESTS'] ?? 6_000);
const CONCURRENCY = 8;

const trpcServer = await startEchoService('bench');
// The same server as the kit served it before issue 16: every call through tRPC's Fetch adapter and
// every token's signature checked (for the in-run comparison only).
const uncachedVerifier = verifierFromEnv(authEnv.parse({ ...DEV_AUTH.verifyEnv(), AUTH_VERIFIED_TOKEN_CACHE: '0' }));
const adapterServer = await startEchoService('bench-adapter', { verifier: uncachedVerifier, directCalls: false });
const { server: plain, url: plainUrl } = await startPlainEcho();

// A service caller (services are never rate limited; a user would hit RATE_LIMIT_REQUESTS within the run).
const token = await devToken({ kind: 'service', id: 'knowledge', roles: [] });
const client = createServiceClient<EchoRouter>({ baseUrl: trpcServer.url, getToken: async () => token });
// The client as the kit had it before issue 16: tRPC's own client with httpLink (link chain,
// observables) and a composite abort signal per call for the timeout.
const adapterClient = createTRPCClient<EchoRouter>({
  links: [
    httpLink({
      url: `${adapterServer.url}/trpc`,
      headers: async () => ({ authorization: `Bearer ${token}` }),
      fetch: (input, init) =>
        fetch(input, { ...init, signal: AbortSignal.any([init!.signal!, AbortSignal.timeout(5_000)]) } as RequestInit),
    }),
  ],
});

async function run(call: () => Promise<unknown>, concurrency: number, n: number): Promise<{ latencies: number[]; seconds: number }> {
  for (let i = 0; i < 100; i++) await call(); // warm-up
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const s = performance.now();
        await call();
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - t0) / 1000 };
}

const rows: Array<Array<string | number>> = [];
const contenders = [
  { name: 'plain node:http (baseline)', call: () => fetch(plainUrl, { method: 'POST', body: '{"text":"hi"}' }).then((r) => r.text()) },
  { name: 'tRPC mutation via kit (JWT + zod)', call: () => client.echo.mutate({ text: 'hi' }) },
  {
    name: '  same, as before: tRPC httpLink client, Fetch adapter, every token verified',
    call: () => adapterClient.echo.mutate({ text: 'hi' }),
  },
];
// The machine is shared and its load moves within seconds: each contender runs ROUNDS short rounds,
// interleaved and in alternating order, so a busy moment hurts both alike.
const ROUNDS = 6;
const SOLO = Math.max(300, Math.round(N / 4));
const runs = contenders.map(() => ({ latencies: [] as number[], seconds: 0, solo: [] as number[], roundRps: [] as number[] }));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
  for (const i of order) {
    const many = await run(contenders[i]!.call, CONCURRENCY, Math.round(N / ROUNDS));
    runs[i]!.latencies.push(...many.latencies);
    runs[i]!.seconds += many.seconds;
    runs[i]!.roundRps.push(many.latencies.length / many.seconds);
    // One call at a time: the hop's own latency, without queueing behind the other 7.
    runs[i]!.solo.push(...(await run(contenders[i]!.call, 1, Math.round(SOLO / ROUNDS))).latencies);
  }
}
const measured = runs.map((m) => ({
  rps: m.latencies.length / m.seconds,
  p50: percentile(m.latencies, 50),
  soloP50: percentile(m.solo, 50),
}));
runs.forEach((m, i) => {
  const name = contenders[i]!.name;
  rows.push([
    name,
    m.latencies.length,
    CONCURRENCY,
    round(measured[i]!.rps, 0),
    round(percentile(m.latencies, 50)),
    round(percentile(m.latencies, 95)),
    round(percentile(m.latencies, 99)),
  ]);
  rows.push([name, m.solo.length, 1, '—', round(percentile(m.solo, 50)), round(percentile(m.solo, 95)), round(percentile(m.solo, 99))]);
});
const [plainRun, kitRun, beforeRun] = measured as [(typeof measured)[0], (typeof measured)[0], (typeof measured)[0]];
// The ratio of the totals (as the issue measured it); the per-round ratios show how much the machine's
// load moved between rounds.
const ratio = kitRun.rps / plainRun.rps;
const roundRatios = (i: number) => runs[i]!.roundRps.map((rps, r) => round(rps / runs[0]!.roundRps[r]!, 2));
const overhead = kitRun.p50 - plainRun.p50;
const soloOverhead = kitRun.soloP50 - plainRun.soloP50;
writeBenchResult('http', [
  {
    title: 'tRPC hop target (issue 16 item 3): the kit next to plain node:http in the same run, concurrency 8',
    columns: ['measure', 'plain node:http (baseline)', 'kit', 'ratio / overhead', 'target', 'met'],
    rows: [
      ['throughput, req/s', round(plainRun.rps, 0), round(kitRun.rps, 0), round(ratio, 2), '≥ 0.6', ratio >= 0.6 ? 'met' : 'not met'],
      [
        '  the kit as before (httpLink client, adapter, no token cache), req/s',
        round(plainRun.rps, 0),
        round(beforeRun.rps, 0),
        round(beforeRun.rps / plainRun.rps, 2),
        '',
        '',
      ],
      [
        'p50 latency per hop, one call at a time, ms',
        round(plainRun.soloP50),
        round(kitRun.soloP50),
        `+${round(soloOverhead)} ms`,
        '≤ +1 ms',
        soloOverhead <= 1 ? 'met' : 'not met',
      ],
      [
        'p50 latency at concurrency 8, ms',
        round(plainRun.p50),
        round(kitRun.p50),
        `+${round(overhead)} ms`,
        '≤ +1 ms',
        overhead <= 1 ? 'met' : 'not met',
      ],
    ],
    notes: [
      `Ratio: all kit calls ÷ all plain calls per second over the ${ROUNDS} interleaved rounds. Per round: kit ${roundRatios(1).join(', ')}; as before ${roundRatios(2).join(', ')}.`,
      "At concurrency 8 a call also waits behind the other 7 on the same CPU, so its p50 grows with the CPU each call costs (8 / req/s): the one-at-a-time row is the hop's own added latency.",
      "Client and both servers share one Node process (and the 2 cores with everything else), so the client side of each call counts for both: the plain one is fetch and res.text(); the kit one is the kit's typed client (createServiceClient), over the same fetch.",
      "The kit path per call. Client: one fetch in tRPC's wire format with the bearer token and trace headers, without tRPC's link chain and observables (trpc-client.ts), errors the same TRPCClientError as httpLink's, one AbortController for the caller's signal and the timeout (cleared at the end). Server: CORS skipped without an Origin header, body size/JSON depth/batch limits, the single call answered without the adapter's Fetch Request/Response (trpc-direct.ts), the gate and the rate limit in the context, the JWT (EdDSA) checked once per token and then taken from a cache until its exp with the issuer's key re-checked (auth.ts), one middleware for auth + error mapping + metrics + log line (debug unless failed or slow, trpc.ts), zod 4 input and output validation (schemas built once), the middleware chain run without tRPC's per-step Babel copies.",
      "As before: tRPC's createTRPCClient + httpLink with AbortSignal.any/timeout per call, every call through tRPC's node adapter, every token's signature verified (the auth+error middleware is already the merged one).",
    ],
  },
  {
    title: `Request overhead on loopback (${ROUNDS} interleaved rounds per server)`,
    columns: ['server', 'requests', 'concurrency', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms'],
    rows,
  },
]);
await trpcServer.close();
await adapterServer.close();
plain.close();
