import { COORDINATION_BUCKETS, heartbeatSubject, signHeartbeat, type UnsignedHeartbeat } from '@platform/contracts';

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devToken, type PrivateNats, startPrivateNats } from '@platform/testkit';
import { absorbHeartbeats, HEARTBEAT_CLOCK_SKEW_MS } from '../src/domain/heartbeats.js';
import { agent, startTestCoordination, user, type TestCoordination } from './support/coordination.js';
import { readEvents } from './support/events.js';

// Heartbeats over NATS taken by hand (absorbHeartbeats), so the order of events is the test's:
// this coordination's own liveness loop does not run within the test (LIVENESS_SWEEP_MS 1 h).
let nats: PrivateNats;
let coord: TestCoordination;
const INTERVAL = 2_000;

beforeAll(async () => {
  nats = await startPrivateNats(4596);
  coord = await startTestCoordination(nats, {
    LIVENESS_SWEEP_MS: 3_600_000,
    HEARTBEAT_INTERVAL_MS: INTERVAL,
    AGENT_OFFLINE_AFTER_MS: 10_000,
  });
});

afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

/** Registers `name` (as that agent) and answers the heartbeat key the registration issued. */
const register = async (name: string, session?: string) =>
  (await coord.as(agent(name)).agents.register({ name, version: '1', capabilities: ['build'], ...(session ? { session } : {}) }))
    .heartbeatKey;
const unsigned = (name: string, session: string | null, extra: Partial<UnsignedHeartbeat> = {}): UnsignedHeartbeat => ({
  v: 2,
  agent: name,
  sentAt: new Date().toISOString(),
  runningJobIds: [],
  load: 0,
  session,
  claimsSettled: 0,
  ...extra,
});
/** Publishes `body` on `name`'s heartbeat subject as the agents' NATS user (as the SDK does). */
const publish = async (name: string, body: unknown) => {
  await (await nats.connectAs('agent')).jetstream().publish(heartbeatSubject(name), typeof body === 'string' ? body : JSON.stringify(body));
};
/** A heartbeat as the SDK sends it: signed with the agent's key. */
const beat = (name: string, key: string, session: string | null, extra: Partial<UnsignedHeartbeat> = {}) =>
  publish(name, signHeartbeat(key, unsigned(name, session, extra)));
const liveness = async (name: string) => (await coord.deps.stores.liveness.get(name))?.record;

describe('taking heartbeats from NATS', () => {
  it('records signed ones with the time they were sent, in one batch for many agents', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `batch-${i}`);
    const keys = new Map<string, string>();
    for (const name of names) keys.set(name, await register(name, 'new'));
    const before = Date.now();
    for (const name of names) await beat(name, keys.get(name)!, 'new', { load: 0.75 });
    const sent = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 50, dropped: 0 });
    for (const name of names) {
      const live = await liveness(name);
      expect(live).toMatchObject({ session: 'new', load: 0.75 });
      const at = Date.parse(live!.lastPingAt);
      expect(at).toBeGreaterThanOrEqual(before - 5);
      expect(at).toBeLessThanOrEqual(sent + 5); // when sent, not when taken (50 ms later)
    }
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 0, dropped: 0 });
  });

  it('issues a new key at every registration, and shows it to no one but the registering agent', async () => {
    const first = await register('keyholder', 'p1');
    const second = await register('keyholder', 'p2');
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second).not.toBe(first);
    expect((await coord.deps.stores.heartbeatKeys.get('keyholder'))?.record).toMatchObject({ key: second, session: 'p2' });
    // Not in the agent's view, for anyone who may read it (the agent itself, a user), nor in its record or events.
    const views = [
      await coord.as(user('operator')).agents.get({ name: 'keyholder' }),
      await coord.as(agent('keyholder')).agents.get({ name: 'keyholder' }),
      await coord.as(user('operator')).agents.list({}),
      await coord.as(agent('other')).agents.list({ capability: 'build' }),
      (await coord.deps.stores.agents.records.get('keyholder'))?.record,
      await readEvents(coord.nc, ['coordination.agent.online']),
    ];
    expect(JSON.stringify(views)).toContain('keyholder');
    for (const key of [first, second]) expect(JSON.stringify(views)).not.toContain(key);
    // The agent registry's buckets are not where keys live.
    expect(COORDINATION_BUCKETS.heartbeatKeys).not.toBe(COORDINATION_BUCKETS.agents);
  });

  it('drops a heartbeat that is unsigned (version 1 bearer token), wrongly signed, another agent’s, or malformed', async () => {
    const key = await register('victim', 's-v');
    const malloryKey = await register('mallory', 's-m');
    const registeredAt = (await liveness('victim'))!.lastPingAt;
    await new Promise((r) => setTimeout(r, 5));
    const forgeries: Array<[string, () => Promise<void>]> = [
      // Version 1: the agent's bearer token instead of a signature, even a valid one.
      [
        'v1 token',
        async () =>
          publish('victim', {
            token: await devToken({ kind: 'agent', id: 'victim', roles: ['agent'] }),
            runningJobIds: [],
            load: null,
            session: 's-v',
            claimsSettled: null,
          }),
      ],
      [
        'wrong mac',
        () => publish('victim', { ...signHeartbeat(key, unsigned('victim', 's-v')), mac: randomBytes(32).toString('base64url') }),
      ],
      ['random key', () => beat('victim', randomBytes(32).toString('base64url'), 's-v')],
      ['another agent’s key', () => beat('victim', malloryKey, 's-v')],
      // Mallory's own valid heartbeat, on the victim's subject.
      ['subject not the agent', () => publish('victim', signHeartbeat(malloryKey, unsigned('mallory', 's-m')))],
      // Signed right, then a field changed.
      ['tampered', () => publish('victim', { ...signHeartbeat(key, unsigned('victim', 's-v')), load: 99 })],
      ['other session', () => beat('victim', key, 's-other')],
      ['bad job id', () => beat('victim', key, 's-v', { runningJobIds: ['not-a-uuid'] })],
      ['extra field', () => publish('victim', { ...signHeartbeat(key, unsigned('victim', 's-v')), token: 'x' })],
      ['not json', () => publish('victim', '{ not json')],
    ];
    // One at a time: the stream keeps only the latest heartbeat per agent.
    for (const [what, forge] of forgeries) {
      await forge();
      expect({ what, counts: await absorbHeartbeats(coord.deps) }).toEqual({ what, counts: { recorded: 0, dropped: 1 } });
    }
    expect((await liveness('victim'))?.lastPingAt).toBe(registeredAt);
    // The same heartbeat, signed right, is taken.
    await beat('victim', key, 's-v');
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 1, dropped: 0 });
    expect((await liveness('victim'))?.lastPingAt).not.toBe(registeredAt);
  });

  it('drops an unregistered agent’s heartbeat, whatever it is signed with', async () => {
    await beat('ghost', randomBytes(32).toString('base64url'), null);
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 0, dropped: 1 });
    expect(await liveness('ghost')).toBeUndefined();
  });

  it('never lets a heartbeat taken late overwrite a newer registration, nor the old process sign after it (a restarted agent keeps its new session)', async () => {
    const oldKey = await register('restarter', 'first');
    await beat('restarter', oldKey, 'first'); // the old process's last heartbeat...
    await new Promise((r) => setTimeout(r, 5));
    const newKey = await register('restarter', 'second'); // ...then it restarts
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 0, dropped: 1 });
    expect((await liveness('restarter'))?.session).toBe('second');

    // The old process (or a copy of its heartbeat) keeps publishing after the registration: its key is no longer the agent's.
    await new Promise((r) => setTimeout(r, 5));
    await beat('restarter', oldKey, 'first');
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 0, dropped: 1 });
    await beat('restarter', oldKey, 'second');
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 0, dropped: 1 });
    expect((await liveness('restarter'))?.session).toBe('second');

    await beat('restarter', newKey, 'second');
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 1, dropped: 0 });
    expect((await liveness('restarter'))?.session).toBe('second');
  });

  it('drops a heartbeat older than an interval (the service was away meanwhile)', async () => {
    const key = await register('late');
    const registeredAt = (await liveness('late'))!.lastPingAt;
    await beat('late', key, null);
    await new Promise((r) => setTimeout(r, INTERVAL + 100));
    expect(await absorbHeartbeats(coord.deps)).toEqual({ recorded: 0, dropped: 1 });
    expect((await liveness('late'))?.lastPingAt).toBe(registeredAt);
  });

  it('drops a signed heartbeat whose own time is far from its arrival (a copy published again), and tolerates clock skew below that', async () => {
    const key = await register('clocky', 'c');
    const at = (offsetMs: number) => ({ sentAt: new Date(Date.now() + offsetMs).toISOString() });
    for (const offset of [-(INTERVAL + HEARTBEAT_CLOCK_SKEW_MS + 1_000), HEARTBEAT_CLOCK_SKEW_MS + 1_000]) {
      await beat('clocky', key, 'c', at(offset));
      expect({ offset, counts: await absorbHeartbeats(coord.deps) }).toEqual({ offset, counts: { recorded: 0, dropped: 1 } });
    }
    for (const offset of [-(HEARTBEAT_CLOCK_SKEW_MS - 1_000), HEARTBEAT_CLOCK_SKEW_MS - 1_000]) {
      await new Promise((r) => setTimeout(r, 5));
      await beat('clocky', key, 'c', at(offset));
      expect({ offset, counts: await absorbHeartbeats(coord.deps) }).toEqual({ offset, counts: { recorded: 1, dropped: 0 } });
    }
  });
});
