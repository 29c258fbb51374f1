import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, startTestCoordination, user, type TestCoordination } from './support/coordination.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

// queues.depths through the router against a private nats-server: what the console's queue table shows.
let nats: PrivateNats;
let coord: TestCoordination;

const depthOf = async (jobType: string, priority: string) => {
  const { queues } = await coord.as(user('bob')).queues.depths({});
  const q = queues.find((x) => x.jobType === jobType && x.priority === priority);
  if (!q) throw new Error(`no queue ${jobType}/${priority} in ${JSON.stringify(queues)}`);
  return q;
};

beforeAll(async () => {
  nats = await startPrivateNats(4587);
  coord = await startTestCoordination(nats, { HEARTBEAT_INTERVAL_MS: 10_000, AGENT_OFFLINE_AFTER_MS: 60_000 });
});

afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

describe('queues.depths', () => {
  it('lists every job type at every priority, counting what waits, for any signed-in caller', async () => {
    const { queues, at } = await coord.as(user('bob')).queues.depths({});
    expect(queues).toHaveLength(3 * 3);
    expect(new Set(queues.map((q) => `${q.jobType}/${q.priority}`)).size).toBe(9);
    expect(Number.isNaN(Date.parse(at))).toBe(false);
    expect(queues.every((q) => q.queued === 0 && q.delivered === 0)).toBe(true);
  });

  it('counts queued jobs in their own queue, and drops them once an agent takes them', async () => {
    for (let i = 0; i < 2; i++)
      await coord.as(user('alice')).jobs.trigger({ jobType: 'proposal', priority: 'high', params: { topic: `q${i}` } });
    await coord.as(user('alice')).jobs.trigger({ jobType: 'build', priority: 'low' });
    await coord.deps.background.idle();
    // Another user sees the counts (no ids, no owners): the queues are shared like the agent registry.
    await expect.poll(() => depthOf('proposal', 'high'), { timeout: 5_000 }).toMatchObject({ queued: 2 });
    expect(await depthOf('build', 'low')).toMatchObject({ queued: 1 });
    expect(await depthOf('proposal', 'normal')).toMatchObject({ queued: 0 });

    await coord.as(agent('worker')).agents.register({ name: 'worker', version: '1.0.0', capabilities: ['proposal'] });
    const { job } = await coord.as(agent('worker')).jobs.claim({ capabilities: ['proposal'], waitMs: 0 });
    expect(job?.jobType).toBe('proposal');
    await expect.poll(() => depthOf('proposal', 'high'), { timeout: 5_000 }).toMatchObject({ queued: 1, delivered: 0 });
  });
});
