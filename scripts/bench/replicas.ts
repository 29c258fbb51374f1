// 10,000 sagas in flight across two operations replicas behind one address (issue 16 item 6): all
// started through the Service address at once, then run to completion by the two replicas, with each
// replica's RSS and heap sampled (tests/lib/memory-probe.ts) from idle to peak. The drill
// tests/drills/replicas.e2e.test.ts runs the same at 1,000 in `npm test`; this is the full count.
//   npx tsx --conditions=@platform/source scripts/bench/replicas.ts   (REPLICA_BENCH_SAGAS=10000)
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { OperationsRouter } from '@platform/operations/router';
import { createServiceClient } from '@platform/kit';
import { devToken, round, startPrivateNats, storeEnv, writeBenchResult } from '@platform/testkit';
import { createScratchDatabase, deploy, withDatabase } from '@platform/operations/migrate';
import { startReplicaSystem } from '../../tests/lib/replica-system.js';

const SAGAS = Number(process.env['REPLICA_BENCH_SAGAS'] ?? 10_000);
const STARTERS = 32;
// The bound asserted per replica is the pod's: it runs at most SAGA_CONCURRENCY (32) sagas at once
// whatever is in flight in Postgres, so it must run them all with its V8 heap capped at MAX_HEAP_MIB
// and its RSS under the Helm chart's 512Mi memory limit (helm/operations/values.yaml). Uncapped, on
// this 24 GiB machine, V8 grows the heap lazily: one run saw 334–353 MiB used and 581–594 MiB RSS,
// figures of GC laziness, not of what a replica needs. BENCH_HEAP_CAP_MIB=0 runs uncapped.
const MAX_HEAP_MIB = Number(process.env['BENCH_HEAP_CAP_MIB'] ?? 256);
const MAX_RSS_MIB = 512;
// The saga lease (BENCH_SAGA_LEASE_MS=2000 is the drill's, where lost leases showed first).
const LEASE_MS = process.env['BENCH_SAGA_LEASE_MS'] ?? '15000';
const mib = (b: number) => Math.round(b / 2 ** 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const env = storeEnv();
if (!env['DATABASE_ADMIN_URL'] || !env['DATABASE_URL'])
  throw new Error('DATABASE_URL / DATABASE_ADMIN_URL not set: run `bash scripts/infra.sh up`');
const root = path.resolve(import.meta.dirname, '..', '..');
const scratch = await createScratchDatabase(env['DATABASE_ADMIN_URL'], 'bench_replicas');
const nats = await startPrivateNats({ portRange: [4650, 4659], as: 'platform' });
const admin = new pg.Pool({ connectionString: scratch.url, max: 2, options: '-c app.owner_bypass=on' });
let system: Awaited<ReturnType<typeof startReplicaSystem>> | undefined;
try {
  await deploy({
    paths: { schema: path.join(root, 'prisma', 'schema.prisma'), migrationsDir: path.join(root, 'prisma', 'migrations') },
    databaseUrl: scratch.url,
  });
  system = await startReplicaSystem({
    layout: { proxies: { knowledge: 4660, operations: 4670, coordination: 4680 }, replicas: 2 },
    services: ['operations'],
    nats,
    databaseUrl: withDatabase(env['DATABASE_URL'], scratch.name),
    logPrefix: 'bench-replicas',
    env: {
      operations: {
        // info: a saga handed over with its lease lost is logged at info ("outcome":"lease_lost"), counted below.
        LOG_LEVEL: 'info',
        SAGA_LEASE_MS: LEASE_MS,
        // BENCH_POOL_MAX=3: the Helm chart's poolMax instead of the service's default of 20.
        ...(process.env['BENCH_POOL_MAX'] ? { DATABASE_POOL_MAX: process.env['BENCH_POOL_MAX'] } : {}),
        ...(MAX_HEAP_MIB > 0 ? { NODE_OPTIONS: `--max-old-space-size=${MAX_HEAP_MIB}` } : {}),
      },
    },
  });
  const sys = system;
  const logStart = new Map(sys.replicas.operations.map((r) => [r.process.logFile, statSync(r.process.logFile).size]));
  await sleep(2_000);
  const idle = [0, 1].map((i) => sys.memory('operations', i));
  const token = await devToken({ kind: 'user', id: `bench-replicas-${Date.now().toString(36)}`, roles: [] }, 3_600);
  const client = createServiceClient<OperationsRouter>({ baseUrl: sys.url('operations'), getToken: async () => token, timeoutMs: 30_000 });

  const counts = async () =>
    (
      await admin.query<{ finished: number; running: number }>(
        `SELECT count(*) FILTER (WHERE status = 'completed')::int AS finished, count(*) FILTER (WHERE status IN ('running','compensating'))::int AS running FROM saga_instances`,
      )
    ).rows[0]!;
  let peakInFlight = 0;
  const t0 = performance.now();
  let next = 0;
  const starting = Promise.all(
    Array.from({ length: STARTERS }, async () => {
      while (next < SAGAS) {
        const i = next++;
        await client.sagas.start.mutate({
          sagaType: 'team_onboarding',
          payload: { teamName: `bench ${i}`, kickoffTask: { title: `kickoff ${i}`, subtasks: ['agenda'] } },
          idempotencyKey: `bench-${i}`,
        });
      }
    }),
  );
  let startedMs = 0;
  void starting.then(() => (startedMs = performance.now() - t0));
  for (;;) {
    const c = await counts();
    peakInFlight = Math.max(peakInFlight, c.running);
    if (c.finished === SAGAS) break;
    if (performance.now() - t0 > 30 * 60_000) throw new Error(`only ${c.finished} of ${SAGAS} sagas completed after 30 min`);
    await sleep(500);
  }
  await starting;
  const doneMs = performance.now() - t0;
  const peak = [0, 1].map((i) => sys.memory('operations', i));
  const owners = (
    await admin.query<{ owner: string; n: number }>(
      `SELECT e->>'owner' AS owner, count(*)::int AS n FROM saga_instances, jsonb_array_elements(step_log) e WHERE e->>'outcome' = 'succeeded' GROUP BY 1 ORDER BY 1`,
    )
  ).rows;
  const notOnce = (
    await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT aggregate_id, data->>'index' FROM event_store WHERE event_type = 'StepSucceeded' GROUP BY 1, 2 HAVING count(*) <> 1) x`,
    )
  ).rows[0]!.n;
  const steps = owners.reduce((s, o) => s + o.n, 0);
  // Sagas a replica stopped running because its lease was lost (taken by the other replica, or given up
  // before it could expire): the step it was running may have had its side effect twice.
  const logLines = sys.replicas.operations.map((r) =>
    readFileSync(r.process.logFile, 'utf8')
      .slice(logStart.get(r.process.logFile) ?? 0)
      .split('\n'),
  );
  const leasesLost = logLines.map((lines) => lines.filter((l) => l.includes('"outcome":"lease_lost"')).length);
  // Renewal statements that failed (e.g. timed out waiting for a pool connection): a lease near its end.
  const renewalsFailed = logLines.map((lines) => lines.filter((l) => l.includes('saga lease renewal failed')).length);

  writeBenchResult('replicas', [
    {
      title: `${SAGAS.toLocaleString('en')} sagas in flight across two operations replicas (team_onboarding, 3 steps each; started through one address)`,
      columns: [
        'sagas',
        'all started s',
        'all completed s',
        'sagas/s',
        'peak in flight',
        'steps per replica',
        'steps persisted ≠ once',
        `saga leases lost per replica (lease ${LEASE_MS} ms)`,
        'lease renewals failed per replica',
      ],
      rows: [
        [
          SAGAS,
          round(startedMs / 1_000, 1),
          round(doneMs / 1_000, 1),
          round((SAGAS * 1_000) / doneMs, 1),
          peakInFlight,
          owners.map((o) => o.n).join(' / '),
          notOnce,
          leasesLost.join(' / '),
          renewalsFailed.join(' / '),
        ],
      ],
    },
    {
      title: 'Memory per operations replica (sampled every 250 ms in the process)',
      columns: ['replica', 'idle RSS MiB', 'peak RSS MiB', 'idle heap used MiB', 'peak heap used MiB', 'bound RSS / heap MiB', 'met'],
      rows: peak.map((p, i) => [
        `operations-${i}`,
        mib(idle[i]!.rss),
        mib(p.peakRss),
        mib(idle[i]!.heapUsed),
        mib(p.peakHeapUsed),
        `${MAX_RSS_MIB} / ${MAX_HEAP_MIB || 'uncapped'}`,
        mib(p.peakRss) < MAX_RSS_MIB && (MAX_HEAP_MIB === 0 || mib(p.peakHeapUsed) < MAX_HEAP_MIB) ? 'met' : 'NOT met',
      ]),
      notes: [
        `Each replica runs at most SAGA_CONCURRENCY (32) sagas at once; the rest wait in Postgres, so memory follows the concurrency, not the ${SAGAS.toLocaleString('en')} in flight. Baseline: the same replica idle, before the load.`,
      ],
    },
  ]);
  if (steps !== SAGAS * 3 || notOnce !== 0) throw new Error(`steps persisted ${steps} (want ${SAGAS * 3}), ${notOnce} not exactly once`);
  if (peak.some((p) => mib(p.peakRss) >= MAX_RSS_MIB || (MAX_HEAP_MIB > 0 && mib(p.peakHeapUsed) >= MAX_HEAP_MIB)))
    throw new Error('a replica passed its memory bound');
} finally {
  await system?.stop();
  await admin.end();
  await sleep(1_000); // the replicas' backends finish exiting (the owner may not terminate operations_app's)
  await scratch.drop();
  await nats.destroy();
}
