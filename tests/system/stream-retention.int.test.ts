import {
  consumeEvents,
  createLogger,
  DEAD_LETTER_STREAM,
  DiscardPolicy,
  ensureStream,
  nanos,
  RetentionPolicy,
  type StreamLimits,
} from '@platform/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCoordinationStreams, type CoordinationStreamLimits } from '../../services/coordination/src/events/streams.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';
import { ensureKnowledgeStream } from '../../services/knowledge/src/events/streams.js';
import { ensureOperationsStream } from '../../services/operations/src/events/streams.js';
import { EVENT_STREAMS, JOBS_DEADLETTER_STREAM, JOBS_STREAM } from '@platform/contracts';

// The rule: every stream a service ensures at start has retention limits, applied to a new stream
// and brought up to date on an existing one whose limits differ; the job queue never gets an age
// limit (it would drop queued jobs) and refuses new items when full instead of dropping old ones.
// A real nats-server with the platform's users: each service ensures its streams as itself.
let nats: PrivateNats;
const as = (user: 'knowledge' | 'operations' | 'coordination' | 'platform') => nats.connectAs(user);
const log = createLogger('stream-retention-test', 'silent');
const DAY = 24 * 3600_000;
const MIB = 1024 ** 2;

async function config(stream: string) {
  const jsm = await (await as('platform')).jetstreamManager();
  return (await jsm.streams.info(stream)).config;
}
const limitsOf = async (stream: string) => {
  const c = await config(stream);
  return { max_age: c.max_age, max_bytes: c.max_bytes, discard: c.discard };
};
const expected = (l: StreamLimits) => ({ max_age: nanos(l.maxAgeMs), max_bytes: l.maxBytes, discard: DiscardPolicy.Old });

beforeAll(async () => {
  nats = await startPrivateNats(4589);
});
afterAll(async () => {
  await nats?.destroy();
});

describe('event stream retention', () => {
  it('applies the limits to a fresh stream, updates an existing one whose limits differ, and leaves an equal one alone', async () => {
    const first: StreamLimits = { maxAgeMs: 7 * DAY, maxBytes: 64 * MIB };
    const changed: StreamLimits = { maxAgeMs: 2 * DAY, maxBytes: 16 * MIB };
    const ensure = {
      [EVENT_STREAMS.knowledge]: async (l: StreamLimits) => ensureKnowledgeStream(await as('knowledge'), l),
      [EVENT_STREAMS.operations]: async (l: StreamLimits) => ensureOperationsStream(await as('operations'), l),
    };
    for (const [stream, run] of Object.entries(ensure)) {
      expect(await run(first)).toBe('created');
      expect(await limitsOf(stream)).toEqual(expected(first));
      expect(await run(changed)).toBe('updated');
      expect(await limitsOf(stream)).toEqual(expected(changed));
      expect(await run(changed)).toBe('unchanged');
      // 0 lifts a limit (JetStream's own "unlimited").
      expect(await run({ maxAgeMs: 0, maxBytes: 0 })).toBe('updated');
      expect(await limitsOf(stream)).toEqual({ max_age: 0, max_bytes: -1, discard: DiscardPolicy.Old });
    }
  });

  it('coordination: events and dead jobs get their limits; the job queue a size bound that refuses new items, never an age limit', async () => {
    const coordination = await as('coordination');
    const limits = (events: StreamLimits, jobsMaxBytes: number): CoordinationStreamLimits => ({
      events,
      deadJobs: { maxAgeMs: 30 * DAY, maxBytes: 8 * MIB },
      jobsMaxBytes,
    });
    const opts = { agentTtlMs: 5_000, heartbeatIntervalMs: 1_000 };
    // Streams as a deployment from before retention limits has them: no limits at all.
    const platform = await as('platform');
    await ensureStream(platform, { name: EVENT_STREAMS.coordination, subjects: ['coordination.>'] });
    await ensureStream(platform, { name: JOBS_STREAM, subjects: ['jobs.queue.>'], retention: RetentionPolicy.Workqueue });
    expect(await limitsOf(JOBS_STREAM)).toEqual({ max_age: 0, max_bytes: -1, discard: DiscardPolicy.Old });

    await ensureCoordinationStreams(coordination, { ...opts, limits: limits({ maxAgeMs: 7 * DAY, maxBytes: 64 * MIB }, 32 * MIB) });
    expect(await limitsOf(EVENT_STREAMS.coordination)).toEqual(expected({ maxAgeMs: 7 * DAY, maxBytes: 64 * MIB }));
    expect(await limitsOf(JOBS_DEADLETTER_STREAM)).toEqual(expected({ maxAgeMs: 30 * DAY, maxBytes: 8 * MIB }));
    const jobs = await config(JOBS_STREAM);
    expect({ retention: jobs.retention, max_age: jobs.max_age, max_bytes: jobs.max_bytes, discard: jobs.discard }).toEqual({
      retention: RetentionPolicy.Workqueue,
      max_age: 0,
      max_bytes: 32 * MIB,
      discard: DiscardPolicy.New,
    });

    // A restart with other limits brings the existing streams to them.
    await ensureCoordinationStreams(coordination, { ...opts, limits: limits({ maxAgeMs: DAY, maxBytes: 16 * MIB }, 4 * MIB) });
    expect(await limitsOf(EVENT_STREAMS.coordination)).toEqual(expected({ maxAgeMs: DAY, maxBytes: 16 * MIB }));
    expect((await config(JOBS_STREAM)).max_bytes).toBe(4 * MIB);
    expect((await config(JOBS_STREAM)).max_age).toBe(0);
  });

  it('the dead-letter stream of consumeEvents gets its limits, ensured by the consuming service as itself', async () => {
    const operations = await as('operations');
    const deadLetterLimits: StreamLimits = { maxAgeMs: 3 * DAY, maxBytes: 2 * MIB };
    const consumer = await consumeEvents({
      nc: operations,
      stream: EVENT_STREAMS.coordination,
      durable: 'operations-job-results',
      subjects: ['coordination.job.succeeded'],
      log,
      handler: async () => undefined,
      deadLetterLimits,
    });
    await consumer.stop();
    expect(await limitsOf(DEAD_LETTER_STREAM)).toEqual(expected(deadLetterLimits));
  });
});
