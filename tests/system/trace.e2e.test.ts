import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientsFor, eventually, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../lib/otlp-receiver.js';

// One trace across the system: the test opens a trace (a traceparent it makes up), then creates a
// task in operations (which calls knowledge) and triggers a job for it. Every service and the
// example agent export spans to an OTLP receiver the test runs; the whole chain must carry the
// same trace id with parent links intact across HTTP and NATS headers, and the logs of each hop
// must carry it too.
const ports = { knowledge: 4261, operations: 4262, coordination: 4263 };
let system: TestSystem;
let otlp: OtlpReceiver;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  system = await startTestSystem({
    ports,
    agents: 1,
    // debug: a call that goes well is logged (with its trace id) at debug only (shared/kit trpc.ts).
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '200', LOG_LEVEL: 'debug' },
  });
});
afterAll(async () => {
  await system?.stop();
  await otlp?.close();
});

it('follows one trace id from the first call to the job completion and the consumer', { timeout: 120_000 }, async () => {
  const traceId = randomBytes(16).toString('hex');
  const rootSpanId = randomBytes(8).toString('hex');
  const token = await tokenFor({ kind: 'user', id: `trace-${traceId.slice(0, 8)}`, roles: [] });
  const clients = clientsFor(token, ports);
  // The clients add the active context's traceparent; the test has no SDK, so it sets the header itself.
  const traced = (path: string, body: unknown, port: number) =>
    fetch(`http://127.0.0.1:${port}/trpc/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${rootSpanId}-01` },
      body: JSON.stringify(body),
    }).then(async (r) => {
      expect(r.status, await r.clone().text()).toBe(200);
      return ((await r.json()) as { result: { data: Record<string, unknown> } }).result.data;
    });

  const block = await clients.knowledge.blocks.create.mutate({ type: 'Decision', sessionId: `trace-${traceId}`, title: 'traced decision' });
  const task = await traced('tasks.create', { title: 'traced task', blockId: block.id }, ports.operations);
  const job = await traced('jobs.trigger', { jobType: 'build', targetId: task['id'] }, ports.coordination);
  await eventually(
    () => clients.operations.tasks.get.query({ id: String(task['id']) }),
    (t) => t.status === 'done',
    30_000,
    'task done',
  );

  // The agent's job span and coordination's completion span end when the agent's next long-poll
  // claim (sent with the completion) returns, a few seconds later: wait until every hop is in.
  const hopsOf = (inTrace: ReceivedSpan[]) => {
    const byService = (svc: string, pred: (s: ReceivedSpan) => boolean) => inTrace.find((s) => s.service.startsWith(svc) && pred(s));
    return {
      'tRPC call into operations': byService('operations', (s) => s.kind === 2 && s.attributes['url.path'] === '/trpc/tasks.create'),
      'its tRPC call into knowledge': byService('knowledge', (s) => s.kind === 2 && s.attributes['url.path'] === '/trpc/blocks.get'),
      'Neo4j span': byService('knowledge', (s) => s.name.startsWith('neo4j')),
      'Postgres span': byService('operations', (s) => s.attributes['db.system.name'] === 'postgresql'),
      'JetStream publish': byService('coordination', (s) => s.name.startsWith('publish ')),
      'job run by the agent': byService('agent:test-agent-1', (s) => s.name === 'job build'),
      'job completion in coordination': byService(
        'coordination',
        (s) => s.kind === 2 && s.attributes['url.path'] === '/trpc/jobs.complete',
      ),
      'consumer in operations': byService('operations', (s) => s.name.startsWith('consume coordination.job.succeeded')),
    };
  };
  const inTrace = await eventually(
    async () => otlp.spans.filter((s) => s.traceId === traceId),
    (spans) => Object.values(hopsOf(spans)).every(Boolean),
    30_000,
    'every hop exported',
  ).catch(() => otlp.spans.filter((s) => s.traceId === traceId));
  const hops = hopsOf(inTrace);
  expect(otlp.rejected).toEqual([]);
  const missing = Object.entries(hops)
    .filter(([, s]) => !s)
    .map(([k]) => k);
  expect(missing, `spans in trace: ${inTrace.map((s) => `${s.service}:${s.name}`).join(', ')}`).toEqual([]);

  // Parent links: every span's parent is either our root or another span of the trace.
  const ids = new Set([rootSpanId, ...inTrace.map((s) => s.spanId)]);
  const orphans = inTrace.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
  expect(orphans.map((s) => `${s.service}:${s.name}`)).toEqual([]);

  // Logs of each hop carry the trace id.
  for (const svc of ['operations', 'knowledge', 'coordination'] as const) {
    const log = readFileSync(system.services[svc].logFile, 'utf8');
    expect(log.includes(`"trace_id":"${traceId}"`), `${svc} log carries the trace id`).toBe(true);
  }
  console.log(
    `trace ${traceId}: ${inTrace.length} spans across ${new Set(inTrace.map((s) => s.service)).size} processes (${[...new Set(inTrace.map((s) => s.service))].join(', ')}); job ${String(job['jobId'])}`,
  );
});
