import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { connectNats, createLogger, type NatsConnection } from '@platform/kit';
import { headers } from 'nats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { storeEnv } from '@platform/testkit';
import { clientsFor, eventually, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';

// Malformed envelopes on every durable consumer operations runs (job results, stuck agents):
// each must be terminated with a logged reason, and none may block the consumer — a valid event
// published after the garbage is still applied.
const ports = { knowledge: 4271, operations: 4272, coordination: 4273 };
const CONSUMERS = [
  { durable: 'operations-job-results', subject: 'coordination.job.succeeded' },
  { durable: 'operations-agent-stuck', subject: 'coordination.agent.stuck' },
];
const PER_CONSUMER = Number(process.env['FUZZ_CONSUMER_RUNS'] ?? 40);
let system: TestSystem;
let nc: NatsConnection;

beforeAll(async () => {
  system = await startTestSystem({ ports, agents: 1, env: { LOG_LEVEL: 'info' } });
  const env = storeEnv();
  nc = await connectNats({
    url: env['NATS_URL']!,
    user: env['NATS_USER'],
    password: env['NATS_PASSWORD'],
    name: 'consumer-fuzz',
    log: createLogger('consumer-fuzz', 'silent'),
  });
});
afterAll(async () => {
  await nc?.close();
  await system?.stop();
});

const envelopeLike = fc.record(
  {
    id: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
    subject: fc.oneof(fc.constantFrom(...CONSUMERS.map((c) => c.subject)), fc.string()),
    occurredAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
    ),
    source: fc.string(),
    data: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ jobId: fc.uuid(), status: fc.string() })),
  },
  { requiredKeys: [] },
);
const malformed = fc.oneof(
  envelopeLike.map((e) => JSON.stringify(e)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string().map((s) => `{"broken": ${s}`),
  fc.constant('\u0000\u0001 not json at all'),
  fc.constant(`${'['.repeat(5_000)}${']'.repeat(5_000)}`),
);

it('terminates malformed envelopes with a logged reason and keeps every consumer flowing', { timeout: 180_000 }, async () => {
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const samples = fc.sample(malformed, { numRuns: PER_CONSUMER, seed: 11 });
  const logStart = readFileSync(system.services.operations.logFile, 'utf8').length; // the log file is appended across runs
  for (const c of CONSUMERS) {
    for (const [i, body] of samples.entries())
      await js.publish(c.subject, body, { msgID: `fuzz-${Date.now()}-${c.durable}-${i}`, headers: headers() });
  }

  // A valid event after the garbage is still applied: a job for a real task completes it.
  const clients = clientsFor(await tokenFor({ kind: 'user', id: `consumer-fuzz-${Date.now()}`, roles: [] }), ports);
  const task = await clients.operations.tasks.create.mutate({ title: 'after the garbage' });
  await clients.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id });
  await eventually(
    () => clients.operations.tasks.get.query({ id: task.id }),
    (t) => t.status === 'done',
    60_000,
    'task done after malformed events',
  );

  for (const c of CONSUMERS) {
    const info = await eventually(
      () => jsm.consumers.info('COORDINATION_EVENTS', c.durable),
      (i) => i.num_pending === 0 && i.num_ack_pending === 0,
      30_000,
      `${c.durable} drained`,
    );
    expect(info.num_ack_pending).toBe(0);
  }
  const log = readFileSync(system.services.operations.logFile, 'utf8').slice(logStart);
  const terminated = log.split('\n').filter((l) => l.includes('terminating invalid message'));
  const withReason = terminated.filter((l) => /"reason":"[^"]+"/.test(l));
  console.log(
    `consumer fuzz: ${samples.length} malformed messages × ${CONSUMERS.length} consumers; ${terminated.length} terminated with a logged reason; valid event applied afterwards`,
  );
  expect(terminated.length).toBeGreaterThanOrEqual(samples.length * CONSUMERS.length);
  expect(withReason.length).toBe(terminated.length);
});
