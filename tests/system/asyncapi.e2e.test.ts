import { asyncApiDocument, connectNats, createLogger, EVENT_STREAM_OWNERS, type NatsConnection } from '@platform/kit';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { storeEnv } from '@platform/testkit';
import { clientsFor, eventually, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';

// Event subscribers are users too: whatever a service publishes must be in the AsyncAPI document it
// serves at /asyncapi.json, with a payload schema that accepts the envelope as it arrives. The test
// drives writes in all three services (processes, real stores), reads every envelope they caused
// from the event streams as the read-only `subscriber` NATS user (as an outside subscriber would),
// and validates each against the served document with ajv.

const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;
const ports = { knowledge: 4285, operations: 4286, coordination: 4287 };
const services = ['knowledge', 'operations', 'coordination'] as const;
type Service = (typeof services)[number];
const stores = storeEnv();
const runTag = `asyncapi-${Date.now()}`;
let system: TestSystem;
let nc: NatsConnection;
const startSeq: Record<string, number> = {};

interface ServedChannel {
  address: string;
  messages: Record<string, { payload: object }>;
}
interface ServedDocument {
  asyncapi: string;
  channels: Record<string, ServedChannel>;
}

beforeAll(async () => {
  if (!stores['NATS_URL'] || !stores['SUBSCRIBER_NATS_USER'])
    throw new Error('stores not configured: run `bash scripts/infra.sh up` (NATS with its subscriber user)');
  nc = await connectNats({
    url: stores['NATS_URL'],
    user: stores['SUBSCRIBER_NATS_USER'],
    password: stores['SUBSCRIBER_NATS_PASSWORD'],
    name: 'asyncapi-e2e',
    log: createLogger('asyncapi-e2e', 'warn'),
  });
  system = await startTestSystem({ ports });
  // Only what this run causes is read: each stream from its position now.
  const jsm = await nc.jetstreamManager();
  for (const stream of Object.keys(EVENT_STREAM_OWNERS)) startSeq[stream] = (await jsm.streams.info(stream)).state.last_seq;
});

afterAll(async () => {
  await system?.stop();
  await nc?.close();
});

/** Every message of `stream` after `after`, read with an ephemeral ordered consumer. */
async function readStream(
  stream: string,
  after: number,
): Promise<Array<{ subject: string; msgId: string | undefined; envelope: Record<string, unknown> }>> {
  const last = (await (await nc.jetstreamManager()).streams.info(stream)).state.last_seq;
  if (last <= after) return [];
  const consumer = await nc.jetstream().consumers.get(stream, { opt_start_seq: after + 1 });
  const out: Array<{ subject: string; msgId: string | undefined; envelope: Record<string, unknown> }> = [];
  const messages = await consumer.fetch({ max_messages: last - after, expires: 5_000 });
  for await (const m of messages) {
    out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), envelope: m.json<Record<string, unknown>>() });
    if (m.seq >= last) break;
  }
  return out;
}

/** The writes of this run: each names `runTag` in some principal or id, so its events are told apart. */
async function driveWrites() {
  const alice = clientsFor(await tokenFor({ kind: 'user', id: `alice-${runTag}`, roles: [] }), ports);
  const admin = clientsFor(await tokenFor({ kind: 'user', id: `admin-${runTag}`, roles: ['admin'] }), ports);

  // knowledge: blocks, links, a run
  const a = await alice.knowledge.blocks.create.mutate({ type: 'Decision', sessionId: runTag, title: 'documented events' });
  const b = await alice.knowledge.blocks.create.mutate({ type: 'Proposal', sessionId: runTag, title: 'an AsyncAPI document' });
  await alice.knowledge.blocks.update.mutate({ id: a.id, expectedVersion: a.version, patch: { title: 'documented events, served' } });
  await alice.knowledge.links.create.mutate({ sourceId: a.id, targetId: b.id, type: 'SUPPORTS' });
  await alice.knowledge.links.remove.mutate({ sourceId: a.id, targetId: b.id, type: 'SUPPORTS' });
  await alice.knowledge.blocks.supersede.mutate({ id: b.id, replacement: { title: 'an AsyncAPI 3 document' } });
  await alice.knowledge.blocks.archive.mutate({ id: a.id });
  const { run } = await alice.knowledge.runs.create.mutate({ name: 'asyncapi run', sessionId: runTag });
  const { steps } = await alice.knowledge.runs.addSteps.mutate({ runId: run.id, steps: [{ parentId: run.rootStepId, name: 'first' }] });
  await alice.knowledge.runs.updateStep.mutate({ stepId: steps[0]!.id, status: 'running' });

  // operations: tasks, approvals, memories, a saga, the event store (null data included)
  const task = await alice.operations.tasks.create.mutate({
    title: `${runTag} task`,
    priority: 'P2',
    subtasks: [{ title: `${runTag} subtask` }],
  });
  await alice.operations.tasks.updateStatus.mutate({ id: task.id, status: 'in_progress' });
  await alice.operations.tasks.move.mutate({ id: task.subtasks[0]!.id, parentId: null });
  await alice.operations.tasks.updateStatus.mutate({ id: task.subtasks[0]!.id, status: 'done' });
  await alice.operations.tasks.edit.mutate({
    id: task.subtasks[0]!.id,
    title: `${runTag} subtask, renamed`,
    dueAt: '2030-01-01T00:00:00Z',
  });
  const doomed = await alice.operations.tasks.create.mutate({
    title: `${runTag} doomed`,
    priority: 'P3',
    subtasks: [{ title: `${runTag} doomed subtask` }],
  });
  await alice.operations.tasks.delete.mutate({ id: doomed.id });
  const approval = await alice.operations.approvals.request.mutate({ subjectKind: 'other', subjectId: runTag });
  await admin.operations.approvals.decide.mutate({ id: approval.id, decision: 'approved' });
  const memory = await alice.operations.memories.create.mutate({ content: `memory of ${runTag}`, type: 'semantic' });
  await alice.operations.memories.update.mutate({ id: memory.id, content: 'changed' });
  await alice.operations.memories.tag.mutate({ id: memory.id, add: ['asyncapi'] });
  await alice.operations.memories.expire.mutate({ id: memory.id });
  await alice.operations.sagas.start.mutate({ sagaType: 'team_onboarding', payload: { teamName: `${runTag}-team` } });
  await admin.operations.events.append.mutate({
    aggregateId: runTag,
    aggregateType: 'asyncapi',
    expectedVersion: 'any',
    events: [
      { type: 'Probed', data: { note: null } },
      { type: 'Empty', data: null },
    ],
  });

  // coordination: a job cancelled while queued (no agent yet), an agent, a job it runs for the task
  const cancelled = await alice.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id, params: { target: 'cancel-me' } });
  await alice.coordination.jobs.cancel.mutate({ jobId: cancelled.jobId });
  await system.startAgent(`agent-${runTag}`);
  const job = await alice.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: task.id, params: { target: 'asyncapi' } });
  await eventually(
    () => alice.coordination.jobs.get.query({ jobId: job.jobId }),
    (j) => j.status === 'succeeded',
    30_000,
    'job succeeded',
  );
}

/** Subjects this run must cause (a subject missing here means the writes above no longer cause it). */
const EXPECTED = [
  'knowledge.block.created',
  'knowledge.block.updated',
  'knowledge.block.superseded',
  'knowledge.block.archived',
  'knowledge.link.created',
  'knowledge.link.removed',
  'knowledge.run.step.changed',
  'operations.task.created',
  'operations.task.updated',
  'operations.task.completed',
  'operations.task.deleted',
  'operations.approval.requested',
  'operations.approval.decided',
  'operations.memory.created',
  'operations.memory.updated',
  'operations.memory.expired',
  'operations.saga.started',
  'operations.saga.step.changed',
  'operations.saga.completed',
  'operations.event.appended',
  'coordination.job.queued',
  'coordination.job.cancelled',
  'coordination.job.started',
  'coordination.job.succeeded',
  'coordination.agent.online',
];

it(
  'every envelope the services publish is in the AsyncAPI document they serve, and its schema accepts it',
  { timeout: 180_000 },
  async () => {
    // The documents as served.
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    const validators: Record<Service, Map<string, ValidateFunction>> = {
      knowledge: new Map(),
      operations: new Map(),
      coordination: new Map(),
    };
    for (const service of services) {
      const res = await fetch(`http://127.0.0.1:${ports[service]}/asyncapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const doc = (await res.json()) as ServedDocument;
      expect(doc.asyncapi).toBe('3.0.0');
      expect(doc).toEqual(
        JSON.parse(
          JSON.stringify(
            asyncApiDocument({ services: [service], version: (doc as unknown as { info: { version: string } }).info.version }),
          ),
        ),
      );
      for (const channel of Object.values(doc.channels))
        validators[service].set(channel.address, ajv.compile(Object.values(channel.messages)[0]!.payload));
    }

    await driveWrites();

    // Outbox relays publish asynchronously: read until every expected subject has arrived.
    type Seen = { stream: string; subject: string; msgId: string | undefined; envelope: Record<string, unknown> };
    const ours = await eventually(
      async () => {
        const seen: Seen[] = [];
        for (const stream of Object.keys(EVENT_STREAM_OWNERS)) {
          for (const m of await readStream(stream, startSeq[stream]!))
            if (JSON.stringify(m.envelope).includes(runTag)) seen.push({ stream, ...m });
        }
        return seen;
      },
      (seen) => EXPECTED.every((s) => seen.some((m) => m.subject === s)),
      60_000,
      'the expected subjects in the streams',
    ).catch((err: Error) => {
      throw new Error(`${err.message.slice(0, 300)}…`);
    });

    const failures: string[] = [];
    for (const m of ours) {
      const owner = EVENT_STREAM_OWNERS[m.stream] as Service;
      const validate = validators[owner].get(m.subject);
      if (!validate) {
        failures.push(`${m.subject} (stream ${m.stream}) is not in ${owner}'s /asyncapi.json`);
        continue;
      }
      if (!validate(m.envelope)) failures.push(`${m.subject}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(m.envelope)}`);
      if (m.envelope['subject'] !== m.subject) failures.push(`${m.subject}: envelope says ${String(m.envelope['subject'])}`);
      if (m.msgId !== m.envelope['id'])
        failures.push(`${m.subject}: Nats-Msg-Id ${m.msgId} is not the envelope id ${String(m.envelope['id'])}`);
    }
    expect(failures).toEqual([]);
    const subjects = new Set(ours.map((m) => m.subject));
    console.log(`asyncapi e2e: ${ours.length} envelopes of ${subjects.size} subjects validated against the served documents`);
  },
);
