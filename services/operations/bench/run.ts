/**
 * Operations bench: event append (ours vs Emmett's PostgreSQL event store vs pgbench single-row insert,
 * same Postgres, same run) and 1,000 concurrent 3-step sagas. Uses its own scratch database, dropped
 * at the end.
 *
 *   eval "$(bash scripts/infra.sh env)"
 *   npx tsx --conditions=@platform/source services/operations/bench/run.ts
 *
 * Env: BENCH_SECONDS (per append run, default 6), BENCH_SAGAS (default 1000).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { createLogger } from '@platform/kit';
import pg from 'pg';
import { z } from 'zod';
import { percentile, round, writeBenchResult, type BenchTable } from '../../../scripts/lib/bench.js';
import { storeEnv } from '../../../scripts/lib/local-env.js';
import { deploy } from '../../../scripts/prisma/commands.js';
import { createScratchDatabase, withDatabase } from '../../../scripts/prisma/scratch-db.js';
import { defineSaga, SagaRegistry } from '../src/domain/sagas/definition.js';
import { SagaOrchestrator } from '../src/domain/sagas/orchestrator.js';
import type { StepTiming } from '../src/domain/sagas/run-saga.js';
import { startWorkflow } from '../src/domain/workflows.js';
import { appendToStream } from '../src/store/event-store.js';
import { createDb } from '../src/store/prisma.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PGBENCH = '/usr/lib/postgresql/15/bin/pgbench';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 6);
const SAGAS = Number(process.env['BENCH_SAGAS'] ?? 1000);
const WRITERS = [1, 16, 64];
const log = createLogger('operations-bench', 'warn');

const env = storeEnv();
const adminUrl = z.string({ error: 'DATABASE_ADMIN_URL is not set (eval "$(bash scripts/infra.sh env)")' }).parse(env['DATABASE_ADMIN_URL']);
const appBase = z.string({ error: 'DATABASE_URL is not set' }).parse(env['DATABASE_URL']);

interface RunResult {
  ops: number;
  seconds: number;
  latencies: number[];
  errors: number;
}

/** `writers` loops, each appending single events to its own stream for SECONDS; every latency recorded. */
async function closedLoop(writers: number, append: (writer: number, version: number) => Promise<unknown>): Promise<RunResult> {
  const latencies: number[] = [];
  let errors = 0;
  // Warm-up: connections and plans.
  await Promise.all(Array.from({ length: writers }, (_, w) => append(w, 0).catch(() => errors++)));
  errors = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let v = 1; performance.now() < deadline; v++) {
        const t0 = performance.now();
        try {
          await append(w, v);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { ops: latencies.length, seconds: (performance.now() - started) / 1000, latencies, errors };
}

/**
 * Emmett's driver layer (dumbo) installs process-wide node-postgres type parsers the first time it
 * connects (int8 → BigInt, json/jsonb → its own deserializer), which Prisma's adapter cannot read back.
 * The bench therefore swaps the parsers around each Emmett run, so each store sees the parsers it
 * ships with.
 */
const PARSED_OIDS = [20, 114, 3802];
type Parsers = Map<number, (v: string) => unknown>;
const snapshotParsers = (): Parsers => new Map(PARSED_OIDS.map((oid) => [oid, pg.types.getTypeParser(oid, 'text') as (v: string) => unknown]));
const applyParsers = (p: Parsers) => p.forEach((fn, oid) => pg.types.setTypeParser(oid, 'text', fn));
const defaultParsers = snapshotParsers();
let emmettParsers: Parsers | undefined;

const event = (w: number, v: number) => ({ writer: w, seq: v, note: 'bench event with a small payload', at: Date.now() });

async function benchOurs(appUrl: string, writers: number, run: string): Promise<RunResult> {
  const db = createDb(appUrl, { max: writers });
  try {
    // Each writer owns a stream and appends at the version it expects (optimistic check on every append).
    return await closedLoop(writers, (w, v) => appendToStream(db, `ours-${run}-${w}`, 'Bench', [{ type: 'Happened', data: event(w, v) }], v === 0 ? 'no_stream' : v));
  } finally {
    await db.$disconnect();
  }
}

async function benchEmmett(url: string, writers: number, run: string): Promise<RunResult> {
  applyParsers(emmettParsers!);
  const pool = new pg.Pool({ connectionString: url, max: writers });
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true, pool } });
  try {
    return await closedLoop(writers, (w, v) =>
      store.appendToStream(`emmett-${run}-${w}`, [{ type: 'Happened', data: event(w, v) }], { expectedStreamVersion: v === 0 ? STREAM_DOES_NOT_EXIST : BigInt(v) }),
    );
  } finally {
    await store.close();
    await pool.end().catch(() => undefined);
    applyParsers(defaultParsers);
  }
}

function benchPgbench(url: string, writers: number): { tps: number; latencyMs: number } {
  const script = path.join(tmpdir(), `ops-bench-insert-${process.pid}.sql`);
  writeFileSync(script, `INSERT INTO bench_insert (data) VALUES ('{"note": "bench event with a small payload"}');\n`);
  const r = spawnSync(PGBENCH, ['-n', '-c', String(writers), '-j', String(Math.min(writers, 2)), '-T', String(SECONDS), '-f', script, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pgbench failed: ${r.stderr}`);
  const tps = Number(/tps = ([\d.]+)/.exec(r.stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(r.stdout)?.[1]);
  return { tps, latencyMs };
}

const row = (name: string, writers: number, r: RunResult) => [
  name,
  writers,
  r.ops,
  round(r.ops / r.seconds, 0),
  round(percentile(r.latencies, 50)),
  round(percentile(r.latencies, 95)),
  round(percentile(r.latencies, 99)),
  r.errors,
];

async function appendBench(appUrl: string, ownerUrl: string): Promise<BenchTable> {
  const admin = new pg.Client({ connectionString: ownerUrl });
  await admin.connect();
  await admin.query(`CREATE TABLE bench_insert (id bigserial PRIMARY KEY, data jsonb NOT NULL)`);
  await admin.end();
  // Emmett creates its schema on first use (as the owner: the service role cannot create tables).
  const warm = getPostgreSQLEventStore(ownerUrl);
  await warm.appendToStream('emmett-warmup', [{ type: 'Warm', data: {} }]);
  await warm.close();
  emmettParsers = snapshotParsers();
  applyParsers(defaultParsers);

  const rows: BenchTable['rows'] = [];
  for (const writers of WRITERS) {
    process.stderr.write(`append: ${writers} writer(s)…\n`);
    rows.push(row('operations appendToStream', writers, await benchOurs(appUrl, writers, `w${writers}`)));
    rows.push(row('Emmett PostgreSQL appendToStream', writers, await benchEmmett(ownerUrl, writers, `w${writers}`)));
    const pb = benchPgbench(ownerUrl, writers);
    rows.push(['pgbench single-row INSERT (ceiling)', writers, '—', round(pb.tps, 0), `avg ${round(pb.latencyMs)}`, '—', '—', 0]);
  }
  return {
    title: `Event append: single-event appends, distinct streams, ${SECONDS} s per run (same Postgres, same run)`,
    columns: ['store', 'writers', 'appends', 'appends/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'],
    rows,
    notes: [
      'Each writer appends to its own stream at the version it expects (optimistic check every time); pools sized to the writer count.',
      'Ours: one statement per append (version check + event + its outbox row), through Prisma ($queryRaw, adapter-pg). Emmett: its emt_append_to_stream function through pg.',
      'pgbench: `INSERT INTO bench_insert (data) VALUES (…)` with -c <writers> -j 2, no outbox, no version check: the ceiling of one-row commits on this Postgres.',
      'Machine: 2 cores shared with other work; Postgres, Node and pgbench on the same host.',
    ],
  };
}

const noop = async () => ({ ok: true });
const benchSaga = defineSaga({
  type: 'bench_three_steps',
  payload: z.object({ n: z.number().int() }),
  steps: [
    { name: 'one', action: noop, compensate: async () => undefined },
    { name: 'two', action: noop, compensate: async () => undefined },
    { name: 'three', action: noop },
  ],
});

async function sagaBench(appUrl: string, ownerUrl: string): Promise<BenchTable> {
  const db = createDb(appUrl, { max: 20 });
  const registry = new SagaRegistry([benchSaga]);
  const core = { db, clock: () => new Date(), newId: () => crypto.randomUUID() };
  const timings: StepTiming[] = [];
  const replicas = ['bench-a', 'bench-b'].map(
    (owner) =>
      new SagaOrchestrator({ ...core, registry, owner, leaseMs: 30_000, pollMs: 200, maxConcurrent: SAGAS, log, onStep: (t) => timings.push(t) }),
  );
  try {
    process.stderr.write(`sagas: starting ${SAGAS}…\n`);
    const t0 = performance.now();
    const ids: string[] = [];
    // Start them all (32 requests in flight), then let two replicas run them concurrently.
    for (let i = 0; i < SAGAS; i += 32) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(32, SAGAS - i) }, (_, k) =>
          startWorkflow({ ...core, registry, pokeSagas: () => undefined }, { kind: 'user', id: `bench-user-${(i + k) % 10}`, roles: [] }, { workflowType: 'bench_three_steps', payload: { n: i + k } }),
        ),
      );
      ids.push(...batch.map((s) => s.id));
    }
    const startedMs = performance.now() - t0;
    const t1 = performance.now();
    replicas.forEach((r) => r.start());
    const owner = new pg.Client({ connectionString: ownerUrl });
    await owner.connect();
    let done = 0;
    while (done < SAGAS) {
      await new Promise((r) => setTimeout(r, 100));
      done = Number((await owner.query(`SELECT count(*) AS n FROM saga_instances WHERE status = 'completed' AND type = 'bench_three_steps'`)).rows[0].n);
      if (performance.now() - t1 > 300_000) throw new Error(`only ${done}/${SAGAS} sagas completed after 5 minutes`);
    }
    const runMs = performance.now() - t1;
    const e2e = (await owner.query<{ ms: number }>(`SELECT extract(epoch FROM finished_at - created_at) * 1000 AS ms FROM saga_instances WHERE type = 'bench_three_steps'`)).rows.map((r) => Number(r.ms));
    await owner.end();
    const overhead = timings.map((t) => t.persistMs);
    const perStep = timings.map((t) => t.persistMs + t.actionMs);
    return {
      title: `Sagas: ${SAGAS} concurrent 3-step sagas (no-op steps), 2 replicas`,
      columns: ['measure', 'value'],
      rows: [
        ['sagas completed', `${done} / ${SAGAS}`],
        ['start (workflows.start domain call, 32 in flight)', `${round(startedMs / 1000)} s (${round(SAGAS / (startedMs / 1000), 0)} starts/s)`],
        ['run: first claim → all completed', `${round(runMs / 1000)} s (${round(SAGAS / (runMs / 1000), 0)} sagas/s, ${round((3 * SAGAS) / (runMs / 1000), 0)} steps/s)`],
        ['step overhead p50 (persist: saga row + event + lease renewal, one transaction)', `${round(percentile(overhead, 50))} ms`],
        ['step overhead p95', `${round(percentile(overhead, 95))} ms`],
        ['step overhead p99', `${round(percentile(overhead, 99))} ms`],
        ['step incl. no-op action p50 / p95', `${round(percentile(perStep, 50))} / ${round(percentile(perStep, 95))} ms`],
        ['saga end-to-end (created → finished) p50 / p95', `${round(percentile(e2e, 50))} / ${round(percentile(e2e, 95))} ms`],
        ['steps recorded', timings.length],
      ],
      notes: [
        'Every saga is in flight at once (each replica may run all of them; 20 database connections per replica), so the overhead includes waiting for a connection.',
        'Each step persists the SagaInstance row (fenced by lease owner and version), appends the step event to the saga stream (+ its outbox row), and on the last step writes the completed outbox row.',
      ],
    };
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await db.$disconnect();
  }
}

const scratch = await createScratchDatabase(adminUrl, 'ops_bench');
try {
  await deploy({ paths: { schema: path.join(ROOT, 'prisma', 'schema.prisma'), migrationsDir: path.join(ROOT, 'prisma', 'migrations') }, databaseUrl: scratch.url });
  const appUrl = withDatabase(appBase, scratch.name);
  const tables = [await appendBench(appUrl, scratch.url), await sagaBench(appUrl, scratch.url)];
  writeBenchResult('operations', tables);
} finally {
  await scratch.drop();
}
