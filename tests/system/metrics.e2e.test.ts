import { JobPriority, JobType } from '@platform/contracts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientsFor, eventually, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';
import { parsePrometheusText, select, total, type Scrape } from '../lib/prometheus-text.js';

// /metrics on each service's own port (where the chart's ServiceMonitor scrapes): every metric
// family the dashboard shows exists, the request counters and histograms move with calls and
// errors, and the gauges read plausible values; a job queued while no agent runs shows in the
// queue depth and the work-queue consumer's lag, and leaves both once an agent took it.
const ports = { knowledge: 4311, operations: 4312, coordination: 4313 };
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ ports, agents: 0, env: { LOG_LEVEL: 'info' } });
});
afterAll(async () => {
  await system?.stop();
});

async function scrape(service: keyof typeof ports): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${ports[service]}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheusText(await res.text());
}

/**
 * A scrape once every family is in it: a gauge read from a store is left out of a scrape whose
 * reading failed or took over 2 s (and that outcome is cached 5 s), e.g. right after start.
 */
const scrapeWith = (service: keyof typeof ports, families: Record<string, string>) =>
  eventually(
    () => scrape(service),
    (s) => Object.entries(families).every(([name, type]) => s.types.get(name) === type),
    20_000,
    `${service}: every family`,
  );

const expectFamilies = (s: Scrape, families: Record<string, string>) => {
  const actual = Object.fromEntries(Object.keys(families).map((name) => [name, s.types.get(name)]));
  expect(actual).toEqual(families);
};

const rpcFamilies = {
  platform_rpc_requests_total: 'counter',
  platform_rpc_errors_total: 'counter',
  platform_rpc_duration_seconds: 'histogram',
};

it('serves request, store, outbox, consumer and queue metrics that move with traffic', { timeout: 150_000 }, async () => {
  const token = await tokenFor({ kind: 'user', id: `metrics-${Date.now()}`, roles: [] });
  const clients = clientsFor(token, ports);
  const before = { knowledge: await scrape('knowledge'), operations: await scrape('operations') };

  // Traffic: successful calls, an error of a known code in each service, health probes (never counted).
  const block = await clients.knowledge.blocks.create.mutate({ type: 'Decision', sessionId: 'metrics', title: 'measured decision' });
  await clients.knowledge.blocks.get.query({ id: block.id });
  await expect(clients.knowledge.blocks.get.query({ id: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow();
  const task = await clients.operations.tasks.create.mutate({ title: 'measured task', blockId: block.id });
  await expect(clients.operations.tasks.get.query({ id: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow();
  for (const svc of Object.values(ports)) {
    for (const path of ['/healthz', '/readyz']) expect((await fetch(`http://127.0.0.1:${svc}${path}`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${svc}/openapi.json`)).status).toBe(200);
  }

  // --- knowledge ---
  const knowledgeFamilies = {
    ...rpcFamilies,
    platform_neo4j_operation_duration_seconds: 'histogram',
    platform_neo4j_operations_active: 'gauge',
    platform_neo4j_pool_max: 'gauge',
    platform_outbox_backlog: 'gauge',
    platform_outbox_oldest_age_seconds: 'gauge',
  };
  const k = await scrapeWith('knowledge', knowledgeFamilies).catch(() => scrape('knowledge'));
  expectFamilies(k, knowledgeFamilies);
  const created = { procedure: 'blocks.create', type: 'mutation', code: 'OK' };
  expect(total(k, 'platform_rpc_requests_total', created)).toBe(total(before.knowledge, 'platform_rpc_requests_total', created) + 1);
  expect(total(k, 'platform_rpc_errors_total', { procedure: 'blocks.get', code: 'NOT_FOUND' })).toBe(
    total(before.knowledge, 'platform_rpc_errors_total', { procedure: 'blocks.get', code: 'NOT_FOUND' }) + 1,
  );
  // The histogram counted the call, every series names its service, and probes never show up.
  const createdCount = total(k, 'platform_rpc_duration_seconds_count', created);
  expect(createdCount).toBeGreaterThanOrEqual(1);
  expect(total(k, 'platform_rpc_duration_seconds_bucket', { ...created, le: '+Inf' })).toBe(createdCount);
  expect(total(k, 'platform_rpc_duration_seconds_sum', created)).toBeGreaterThan(0);
  expect(k.samples.every((s) => s.labels['service_name'] === 'knowledge')).toBe(true);
  expect(k.samples.filter((s) => /healthz|readyz/.test(s.labels['procedure'] ?? ''))).toEqual([]);
  expect(total(k, 'platform_neo4j_operation_duration_seconds_count', { mode: 'write', operation: 'blocks.create' })).toBeGreaterThanOrEqual(
    1,
  );
  expect(total(k, 'platform_neo4j_pool_max')).toBe(100);
  expect(total(k, 'platform_neo4j_operations_active')).toBeGreaterThanOrEqual(0);
  expect(select(k, 'platform_outbox_backlog', { outbox: 'knowledge' })[0]?.value).toBeGreaterThanOrEqual(0);
  expect(select(k, 'platform_outbox_oldest_age_seconds', { outbox: 'knowledge' })[0]?.value).toBeLessThan(3_600);
  // The run recorder's durables on operations' and coordination's streams.
  // (read every 5 s, and the consumers are made once both stores were reached: polled.)
  const recorder = await eventually(
    () => scrape('knowledge'),
    (s) => select(s, 'platform_jetstream_consumer_lag').length === 2,
    20_000,
    'run recorder lag reported',
  );
  expect(
    select(recorder, 'platform_jetstream_consumer_lag')
      .map((s) => s.labels['consumer'])
      .sort(),
  ).toEqual(['knowledge-runs-coordination', 'knowledge-runs-operations']);

  // --- operations ---
  const operationsFamilies = {
    ...rpcFamilies,
    platform_pg_pool_connections: 'gauge',
    platform_pg_pool_waiting: 'gauge',
    platform_pg_pool_max: 'gauge',
    platform_pg_checkout_duration_seconds: 'histogram',
    platform_outbox_backlog: 'gauge',
    platform_outbox_oldest_age_seconds: 'gauge',
    platform_jetstream_consumer_lag: 'gauge',
    platform_jetstream_consumer_ack_pending: 'gauge',
  };
  const o = await scrapeWith('operations', operationsFamilies).catch(() => scrape('operations'));
  expectFamilies(o, operationsFamilies);
  expect(total(o, 'platform_rpc_requests_total', { procedure: 'tasks.create', code: 'OK' })).toBe(
    total(before.operations, 'platform_rpc_requests_total', { procedure: 'tasks.create', code: 'OK' }) + 1,
  );
  expect(total(o, 'platform_rpc_errors_total', { procedure: 'tasks.get', code: 'NOT_FOUND' })).toBe(
    total(before.operations, 'platform_rpc_errors_total', { procedure: 'tasks.get', code: 'NOT_FOUND' }) + 1,
  );
  for (const pool of ['prisma', 'sql']) {
    const max = total(o, 'platform_pg_pool_max', { pool });
    const open = total(o, 'platform_pg_pool_connections', { pool });
    expect(max, pool).toBeGreaterThanOrEqual(2);
    expect(open, pool).toBeGreaterThanOrEqual(1); // both pools have served statements by now
    expect(open, pool).toBeLessThanOrEqual(max);
    expect(total(o, 'platform_pg_checkout_duration_seconds_count', { pool }), pool).toBeGreaterThanOrEqual(1);
  }
  expect(total(o, 'platform_pg_pool_max', { pool: 'prisma' })).toBe(20); // DATABASE_POOL_MAX's default
  expect(select(o, 'platform_outbox_backlog', { outbox: 'operations' })).toHaveLength(1);
  expect(
    select(o, 'platform_jetstream_consumer_lag')
      .map((s) => s.labels['consumer'])
      .sort(),
  ).toEqual(['operations-agent-stuck', 'operations-job-results']);

  // --- coordination: a job queued while no agent runs, then taken by one ---
  const queue = { job_type: 'build', priority: 'normal' };
  const job = await clients.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id });
  await expect(clients.coordination.jobs.get.query({ jobId: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow();
  const coordinationFamilies = {
    ...rpcFamilies,
    platform_job_queue_depth: 'gauge',
    platform_agents: 'gauge',
    platform_outbox_backlog: 'gauge',
    platform_outbox_oldest_age_seconds: 'gauge',
    platform_jetstream_consumer_lag: 'gauge',
    platform_jetstream_consumer_ack_pending: 'gauge',
  };
  const hasFamilies = (s: Scrape) => Object.entries(coordinationFamilies).every(([name, type]) => s.types.get(name) === type);
  const queued = await eventually(
    () => scrape('coordination'),
    (s) => hasFamilies(s) && total(s, 'platform_job_queue_depth', queue) >= 1,
    20_000,
    'queue depth shows the job',
  ).catch(() => scrape('coordination'));
  expectFamilies(queued, coordinationFamilies);
  expect(total(queued, 'platform_job_queue_depth', queue)).toBeGreaterThanOrEqual(1);
  expect(total(queued, 'platform_rpc_requests_total', { procedure: 'jobs.trigger', code: 'OK' })).toBeGreaterThanOrEqual(1);
  expect(total(queued, 'platform_rpc_errors_total', { procedure: 'jobs.get', code: 'NOT_FOUND' })).toBeGreaterThanOrEqual(1);
  expect(total(queued, 'platform_jetstream_consumer_lag', { stream: 'JOBS', consumer: 'jobs-build-normal' })).toBeGreaterThanOrEqual(1);
  expect(select(queued, 'platform_job_queue_depth')).toHaveLength(JobType.options.length * JobPriority.options.length);
  expect(select(queued, 'platform_jetstream_consumer_lag', { stream: 'AGENT_HEARTBEATS', consumer: 'coordination' })).toHaveLength(1);
  expect(
    select(queued, 'platform_outbox_backlog')
      .map((s) => s.labels['outbox'])
      .sort(),
  ).toEqual(['agents', 'jobs']);
  // The agent registry is the shared NATS's: agents of other tests may still be online; count from here.
  const onlineBefore = total(queued, 'platform_agents', { status: 'online' });

  await system.startAgent('metrics-agent');
  await eventually(
    () => clients.coordination.jobs.get.query({ jobId: job.jobId }),
    (j) => j.status === 'succeeded',
    60_000,
    'job succeeded',
  );
  const drained = await eventually(
    () => scrape('coordination'),
    (s) => total(s, 'platform_job_queue_depth', queue) === 0 && total(s, 'platform_agents', { status: 'online' }) >= onlineBefore + 1,
    20_000,
    'queue drained, agent online',
  );
  expect(total(drained, 'platform_jetstream_consumer_lag', { stream: 'JOBS', consumer: 'jobs-build-normal' })).toBe(0);
  // Operations consumed the job's result: its consumer's lag settles at 0.
  await eventually(
    () => scrape('operations'),
    (s) => total(s, 'platform_jetstream_consumer_lag', { consumer: 'operations-job-results' }) === 0,
    20_000,
    'job results consumed',
  );
});
