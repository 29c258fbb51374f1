import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateNats, type PrivateNats } from '@platform/testkit';
import { registerAgent } from '../src/domain/agents.js';
import { triggerJob } from '../src/domain/jobs.js';
import { startTestCoordination, user, type TestCoordination } from './support/coordination.js';

// The rule, as in knowledge and operations: an event written by a domain write reaches NATS promptly
// with no router telling anything to publish. Here the write helpers (mutateRecord, and the two
// creates) hand the written record to the OutboxSender port; the outbox sweep, the safety net for a
// crash between write and send, runs every minute in this file, so only that hand-over can deliver
// within PROMPT_MS.
const SAFETY_NET_MS = 60_000;
const PROMPT_MS = 1_000;

let nats: PrivateNats;
let coord: TestCoordination;

beforeAll(async () => {
  nats = await startPrivateNats({ portRange: [4571, 4579] });
  coord = await startTestCoordination(
    nats,
    { OUTBOX_SWEEP_MS: SAFETY_NET_MS, OUTBOX_MIN_AGE_MS: SAFETY_NET_MS },
    'coordination-outbox-prompt',
  );
});
afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

/** Runs `write` (a domain call, no router) and answers how long after it returned an event on `subject` named `id(result)`. */
async function published<T>(subject: string, write: () => Promise<T>, id: (r: T) => string, field: string): Promise<number> {
  // A watcher with read rights on the subjects (coordination's own user may only publish them).
  const sub = (await nats.connectAs('platform')).subscribe(subject);
  const seen = new Map<string, number>();
  const collecting = (async () => {
    for await (const m of sub) seen.set(String((m.json() as { data: Record<string, unknown> }).data[field]), Date.now());
  })();
  try {
    const key = id(await write());
    // Timed from the write's return (it is recorded), so a slow write on a busy machine does not count.
    const written = Date.now();
    while (!seen.has(key)) {
      if (Date.now() - written > PROMPT_MS) throw new Error(`no ${subject} event for ${key} ${PROMPT_MS} ms after the write returned`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return Math.max(0, seen.get(key)! - written);
  } finally {
    sub.unsubscribe();
    await collecting;
  }
}

describe('the coordination outbox is sent by the write, not by the router', () => {
  it('publishes the events of domain writes within a second while the sweep runs every minute', async () => {
    const online = await published(
      'coordination.agent.online',
      () => registerAgent(coord.deps, 'prompt-agent', { version: '1.0.0', capabilities: ['build'] }),
      () => 'prompt-agent',
      'agent',
    );
    const queued = await published(
      'coordination.job.queued',
      () => triggerJob(coord.deps, user('prompt-user'), { jobType: 'gap_analysis' }),
      (r) => r.job.id,
      'jobId',
    );
    console.log(`coordination write → NATS: agent.online ${online} ms, job.queued ${queued} ms (sweep ${SAFETY_NET_MS} ms)`);
    expect(Math.max(online, queued)).toBeLessThan(PROMPT_MS);
  });
});
