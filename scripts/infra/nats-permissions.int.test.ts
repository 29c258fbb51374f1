/**
 * NATS least privilege, against a real nats-server configured by scripts/infra/nats-config.ts (the
 * renderer scripts/infra/nats.sh uses for the local server): every rule below is asserted by the
 * exact permission violation the server reports, and each "cannot" has a "can" next to it (the
 * same call as the user allowed to make it), so a test fails if the server stops refusing.
 */
import {
  createEnvelope,
  consumeEvents,
  createLogger,
  DEAD_LETTER_STREAM,
  natsTeamDirectory,
  publishEnvelope,
  type NatsConnection,
} from '@platform/kit';
import { DURABLES, heartbeatSubject, TEAM_MEMBERSHIP_BUCKET, teamMembershipKey } from '@platform/contracts';

import { consumerOpts } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';
import { ensureCoordinationStreams } from '../../services/coordination/src/events/streams.js';
import { ensureKnowledgeStream } from '../../services/knowledge/src/events/streams.js';
import { ensureOperationsStream } from '../../services/operations/src/events/streams.js';
import { teamMembershipBucket } from '../../services/operations/src/events/team-directory.js';
import { RUN_RECORDER_DURABLES } from '../../services/knowledge/src/events/recorder.js';
import type { NatsUserName } from '@platform/contracts/nats-permissions';

const log = createLogger('nats-permissions', 'fatal');
let nats: PrivateNats;
const as = (u: NatsUserName) => nats.connectAs(u);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the server answers a publish `user` may not make (nats.js rejects the JetStream publish with it). */
const pubViolation = (subject: string) => `Permissions Violation for Publish to "${subject}"`;
/** nats.js ends the subscription with the server's -ERR text, quoted: `'Permissions Violation for Subscription to "<subject>"'`. */
const subViolation = (subject: string) => `'Permissions Violation for Subscription to "${subject}"'`;

/** A JetStream publish as `user`: resolves with the stream that stored it, or rejects with the server's reason. */
async function jsPublish(user: NatsUserName, subject: string, data = '{}') {
  const ack = await (await as(user)).jetstream().publish(subject, data, { timeout: 2_000 });
  return ack.stream;
}

/** Subscribes as `user` on a fresh connection: the subscription ends with the server's refusal, or is still open after 500 ms. */
async function trySubscribe(user: NatsUserName, subject: string): Promise<'open' | string> {
  const nc = await as(user);
  const sub = nc.subscribe(subject);
  const ended = (async () => {
    try {
      for await (const _ of sub) void _;
      return 'closed';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  })();
  const result = await Promise.race([ended, sleep(500).then(() => 'open' as const)]);
  sub.unsubscribe();
  return result;
}

/** Every message `nc` receives on `subjects` while `during` runs (plus 300 ms), as "<subject> <body>". */
async function received(nc: NatsConnection, subjects: string[], during: () => Promise<unknown>): Promise<string[]> {
  const got: string[] = [];
  const subs = subjects.map((s) =>
    nc.subscribe(s, { callback: (err, m) => void (err ? undefined : got.push(`${m.subject} ${new TextDecoder().decode(m.data)}`)) }),
  );
  await nc.flush();
  await during();
  await sleep(300);
  for (const sub of subs) sub.unsubscribe();
  return got;
}

const blockCreated = () =>
  createEnvelope('knowledge', 'knowledge.block.created', {
    blockId: crypto.randomUUID(),
    type: 'Decision',
    sessionId: 's1',
    title: 'Use JetStream',
    version: 1,
    createdBy: 'alice',
  } as never);
const taskCreated = () =>
  createEnvelope('operations', 'operations.task.created', {
    taskId: crypto.randomUUID(),
    title: 't',
    status: 'todo',
    parentId: null,
    blockId: null,
    assigneeId: null,
    createdBy: 'alice',
  } as never);
const jobSucceeded = (source = 'coordination') =>
  createEnvelope(source, 'coordination.job.succeeded', {
    jobId: crypto.randomUUID(),
    jobType: 'build',
    status: 'succeeded',
    targetKind: 'task',
    targetId: crypto.randomUUID(),
    attempt: 1,
    agent: 'builder',
    result: { ok: true },
  });

beforeAll(async () => {
  nats = await startPrivateNats(4584);
  // Each service sets up what it owns as its own user, as at start-up: this is itself a test that
  // the permissions are enough (a refusal here fails every test).
  await ensureKnowledgeStream(await as('knowledge'));
  await ensureOperationsStream(await as('operations'));
  await ensureCoordinationStreams(await as('coordination'), { agentTtlMs: 5_000, heartbeatIntervalMs: 1_000 });
  const kv = await teamMembershipBucket(await as('operations'));
  await kv.put(
    teamMembershipKey('alice'),
    JSON.stringify({ userId: 'alice', teamIds: ['4f0c1d8e-6a0b-4d39-9a55-0a1f0c3b2d11'], updatedAt: new Date().toISOString() }),
  );
});

afterAll(async () => {
  await nats?.destroy();
});

describe('services', () => {
  it('publish their own events and not another service’s', async () => {
    expect(await jsPublish('knowledge', 'knowledge.block.created', JSON.stringify(blockCreated()))).toBe('KNOWLEDGE_EVENTS');
    expect(await jsPublish('operations', 'operations.task.created', JSON.stringify(taskCreated()))).toBe('OPERATIONS_EVENTS');
    expect(await jsPublish('coordination', 'coordination.job.succeeded', JSON.stringify(jobSucceeded()))).toBe('COORDINATION_EVENTS');

    // Operations forging a job result (it would then apply it to a task) or knowledge an operations event:
    await expect(jsPublish('operations', 'coordination.job.succeeded')).rejects.toThrow(pubViolation('coordination.job.succeeded'));
    await expect(jsPublish('knowledge', 'operations.task.created')).rejects.toThrow(pubViolation('operations.task.created'));
    await expect(jsPublish('coordination', 'knowledge.block.created')).rejects.toThrow(pubViolation('knowledge.block.created'));
    await expect(jsPublish('knowledge', 'jobs.queue.build.high')).rejects.toThrow(pubViolation('jobs.queue.build.high'));
    await expect(jsPublish('operations', heartbeatSubject('someone'))).rejects.toThrow(pubViolation(heartbeatSubject('someone')));
  });

  it('administer only their own streams: no other stream’s config, no deleting their own', async () => {
    const jsm = async (u: NatsUserName) => (await as(u)).jetstreamManager();
    await expect((await jsm('knowledge')).streams.delete('OPERATIONS_EVENTS')).rejects.toThrow(
      pubViolation('$JS.API.STREAM.DELETE.OPERATIONS_EVENTS'),
    );
    await expect((await jsm('knowledge')).streams.delete('KNOWLEDGE_EVENTS')).rejects.toThrow(
      pubViolation('$JS.API.STREAM.DELETE.KNOWLEDGE_EVENTS'),
    );
    await expect((await jsm('operations')).streams.purge('JOBS')).rejects.toThrow(pubViolation('$JS.API.STREAM.PURGE.JOBS'));
    await expect((await jsm('coordination')).streams.info('OPERATIONS_EVENTS')).rejects.toThrow(
      pubViolation('$JS.API.STREAM.INFO.OPERATIONS_EVENTS'),
    );
    // Operations may attach its durables to coordination's stream, and no other durable.
    await expect((await jsm('operations')).consumers.add('COORDINATION_EVENTS', { durable_name: 'operations-other' })).rejects.toThrow(
      pubViolation('$JS.API.CONSUMER.CREATE.COORDINATION_EVENTS.operations-other'),
    );
  });

  it('read the team directory; only operations writes it', async () => {
    for (const reader of ['knowledge', 'coordination'] as const) {
      expect(await natsTeamDirectory(await as(reader)).teamsOf('alice')).toEqual(new Set(['4f0c1d8e-6a0b-4d39-9a55-0a1f0c3b2d11']));
      const subject = `$KV.${TEAM_MEMBERSHIP_BUCKET}.mallory`;
      await expect(jsPublish(reader, subject)).rejects.toThrow(pubViolation(subject));
    }
    expect(await jsPublish('operations', `$KV.${TEAM_MEMBERSHIP_BUCKET}.bob`)).toBe(`KV_${TEAM_MEMBERSHIP_BUCKET}`);
  });

  it('receive replies only on their own inbox prefix', async () => {
    expect(await trySubscribe('knowledge', '_INBOX.>')).toBe(subViolation('_INBOX.>'));
    expect(await trySubscribe('knowledge', '_INBOX_operations.>')).toBe(subViolation('_INBOX_operations.>'));
    expect(await trySubscribe('operations', 'coordination.>')).toBe(subViolation('coordination.>'));
    expect(await trySubscribe('knowledge', '_INBOX_knowledge.x')).toBe('open');
  });
});

describe('agents', () => {
  it('publish heartbeats and no event, KV write, work item or JetStream API call', async () => {
    expect(await jsPublish('agent', heartbeatSubject('a1'), '{}')).toBe('AGENT_HEARTBEATS');
    for (const subject of [
      'knowledge.block.created',
      'operations.task.created',
      'coordination.job.succeeded',
      'jobs.queue.build.high',
      '$KV.agent_liveness.a1',
      `$KV.${TEAM_MEMBERSHIP_BUCKET}.a1`,
    ]) {
      await expect(jsPublish('agent', subject)).rejects.toThrow(pubViolation(subject));
    }
    await expect((await as('agent')).jetstreamManager()).rejects.toThrow(pubViolation('$JS.API.INFO'));
  });

  it('cannot subscribe to _INBOX.>, another user’s inbox or any event subject', async () => {
    for (const subject of [
      '_INBOX.>',
      '>',
      '_INBOX_knowledge.>',
      '_INBOX_coordination.>',
      '_INBOX_subscriber.>',
      'knowledge.>',
      'operations.task.created',
      'coordination.>',
      'agents.heartbeat.*',
      '$KV.>',
    ]) {
      expect(await trySubscribe('agent', subject)).toBe(subViolation(subject));
    }
    expect(await trySubscribe('agent', '_INBOX_agent.>')).toBe('open');
  });

  it('never see the reply to a service’s KV read (the reproduction of issue 12)', async () => {
    const read = async () => {
      const dir = natsTeamDirectory(await as('coordination'));
      expect(await dir.teamsOf('alice')).toEqual(new Set(['4f0c1d8e-6a0b-4d39-9a55-0a1f0c3b2d11']));
    };
    // The control: a user allowed to listen on coordination's inbox does see the reply (alice's entry)...
    const seenByOperator = await received(await as('platform'), ['_INBOX_coordination.>'], read);
    expect(seenByOperator.some((m) => m.includes(`"subject":"$KV.${TEAM_MEMBERSHIP_BUCKET}.alice"`))).toBe(true);
    // ...an agent trying every way to listen (what issue 12 did: `_INBOX.>`) sees nothing of it.
    const seenByAgent = await received(await as('agent'), ['>', '_INBOX.>', '_INBOX_coordination.>', '_INBOX_agent.>'], read);
    expect(seenByAgent).toEqual([]);
  });
});

describe('the subscriber', () => {
  it('reads every event stream, live (core) and from the start (ordered consumer)', async () => {
    const sub = await as('subscriber');
    const events = [blockCreated(), taskCreated(), jobSucceeded()];
    const owners: NatsUserName[] = ['knowledge', 'operations', 'coordination'];
    const live = await received(sub, ['knowledge.>', 'operations.>', 'coordination.>'], async () => {
      for (const [i, e] of events.entries()) await publishEnvelope((await as(owners[i]!)).jetstream(), e);
    });
    for (const e of events) expect(live.some((m) => m.includes(e.id))).toBe(true);

    const js = sub.jetstream();
    for (const [i, stream] of ['KNOWLEDGE_EVENTS', 'OPERATIONS_EVENTS', 'COORDINATION_EVENTS'].entries()) {
      const consumer = await js.consumers.get(stream);
      const ids: string[] = [];
      for await (const m of await consumer.fetch({ max_messages: 100, expires: 1_000 })) {
        ids.push((m.json() as { id: string }).id);
        if (m.info.pending === 0) break;
      }
      expect(ids, stream).toContain(events[i]!.id);
    }
    // Push ordered consumer (js.subscribe), as the README's nats CLI equivalent does.
    const ordered = await js.subscribe('knowledge.>', consumerOpts().orderedConsumer().deliverAll());
    const first = await Promise.race([
      (async () => {
        for await (const m of ordered) return m.subject;
      })(),
      sleep(2_000).then(() => 'nothing'),
    ]);
    ordered.unsubscribe();
    expect(first).toMatch(/^knowledge\./);
  });

  it('publishes nothing: no event, KV write, stream admin, ack, or pull from a service’s durable', async () => {
    for (const subject of [
      'knowledge.block.created',
      'operations.task.created',
      'coordination.job.succeeded',
      heartbeatSubject('x'),
      `$KV.${TEAM_MEMBERSHIP_BUCKET}.x`,
      'deadletter.operations-job-results',
    ]) {
      await expect(jsPublish('subscriber', subject)).rejects.toThrow(pubViolation(subject));
    }
    const jsm = await (await as('subscriber')).jetstreamManager();
    await expect(jsm.streams.delete('KNOWLEDGE_EVENTS')).rejects.toThrow(pubViolation('$JS.API.STREAM.DELETE.KNOWLEDGE_EVENTS'));
    await expect(jsm.streams.purge('COORDINATION_EVENTS')).rejects.toThrow(pubViolation('$JS.API.STREAM.PURGE.COORDINATION_EVENTS'));
    await expect(jsm.streams.info('JOBS')).rejects.toThrow(pubViolation('$JS.API.STREAM.INFO.JOBS'));
    await expect(jsm.consumers.delete('COORDINATION_EVENTS', DURABLES.operationsJobResults)).rejects.toThrow(
      pubViolation(`$JS.API.CONSUMER.DELETE.COORDINATION_EVENTS.${DURABLES.operationsJobResults}`),
    );
    // Taking messages from operations' durable would steal its job results.
    await (
      await as('operations')
    )
      .jetstreamManager()
      .then((m) =>
        m.consumers.add('COORDINATION_EVENTS', { durable_name: DURABLES.operationsJobResults, ack_policy: 'explicit' as never }),
      );
    await expect((await as('subscriber')).jetstream().pull('COORDINATION_EVENTS', DURABLES.operationsJobResults)).rejects.toThrow(
      pubViolation(`$JS.API.CONSUMER.MSG.NEXT.COORDINATION_EVENTS.${DURABLES.operationsJobResults}`),
    );
    expect(await trySubscribe('subscriber', '_INBOX.>')).toBe(subViolation('_INBOX.>'));
    expect(await trySubscribe('subscriber', 'jobs.queue.>')).toBe(subViolation('jobs.queue.>'));
  });
});

describe('consumers', () => {
  it("knowledge's run recorder consumes operations' and coordination's events through its own durables, and only those", async () => {
    const sagaStarted = createEnvelope('operations', 'operations.saga.started', {
      sagaId: crypto.randomUUID(),
      sagaType: 'checkout',
      status: 'running',
      currentStep: 0,
      startedBy: 'alice',
      error: null,
      version: 1,
    });
    const jobDone = jobSucceeded();
    const handled: string[] = [];
    const consumers = await Promise.all([
      consumeEvents({
        nc: await as('knowledge'),
        ...RUN_RECORDER_DURABLES.operations,
        subjects: ['operations.saga.started'],
        log,
        handler: async (e) => void handled.push(e.id),
      }),
      consumeEvents({
        nc: await as('knowledge'),
        ...RUN_RECORDER_DURABLES.coordination,
        subjects: ['coordination.job.succeeded'],
        log,
        handler: async (e) => void handled.push(e.id),
      }),
    ]);
    try {
      await publishEnvelope((await as('operations')).jetstream(), sagaStarted);
      await publishEnvelope((await as('coordination')).jetstream(), jobDone);
      const deadline = Date.now() + 10_000;
      // A new durable starts at the stream's beginning: earlier tests' events come too.
      while (!(handled.includes(sagaStarted.id) && handled.includes(jobDone.id)) && Date.now() < deadline) await sleep(50);
      expect(handled).toEqual(expect.arrayContaining([sagaStarted.id, jobDone.id]));
    } finally {
      await Promise.all(consumers.map((c) => c.stop()));
    }
    // Another durable on those streams (it could take operations' job results away from it) is refused.
    const jsm = await (await as('knowledge')).jetstreamManager();
    await expect(jsm.consumers.add('COORDINATION_EVENTS', { durable_name: 'knowledge-other' })).rejects.toThrow(
      pubViolation('$JS.API.CONSUMER.CREATE.COORDINATION_EVENTS.knowledge-other'),
    );
    await expect(jsm.consumers.add('OPERATIONS_EVENTS', { durable_name: 'knowledge-other' })).rejects.toThrow(
      pubViolation('$JS.API.CONSUMER.CREATE.OPERATIONS_EVENTS.knowledge-other'),
    );
  });

  it('refuse an envelope whose source does not own the stream: terminated and dead-lettered with the reason', async () => {
    // Only the operator's user can still put such a message there (every service is refused above).
    const forged = jobSucceeded('operations');
    const genuine = jobSucceeded();
    const handled: string[] = [];
    const consumer = await consumeEvents({
      nc: await as('operations'),
      stream: 'COORDINATION_EVENTS',
      durable: DURABLES.operationsJobResults,
      subjects: ['coordination.job.succeeded'],
      log,
      handler: async (e) => void handled.push(e.id),
    });
    try {
      const js = (await as('platform')).jetstream();
      await publishEnvelope(js, forged);
      await publishEnvelope(js, genuine);
      const deadline = Date.now() + 10_000;
      while (!handled.includes(genuine.id) && Date.now() < deadline) await sleep(50);
      expect(handled).toContain(genuine.id);
      expect(handled).not.toContain(forged.id);
      const jsm = await (await as('platform')).jetstreamManager();
      const letter = (
        await jsm.streams.getMessage(DEAD_LETTER_STREAM, { last_by_subj: `deadletter.${DURABLES.operationsJobResults}` })
      ).json<{ reason: string; envelope: { id: string } }>();
      expect(letter.envelope.id).toBe(forged.id);
      expect(letter.reason).toBe('source "operations" does not own stream COORDINATION_EVENTS (owner coordination)');
      // Terminated, not left for redelivery.
      expect((await jsm.consumers.info('COORDINATION_EVENTS', DURABLES.operationsJobResults)).num_ack_pending).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});
