import { heartbeatSubject, type AgentHeartbeat } from '@platform/contracts';
import {  } from '@platform/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devToken, DEV_AUTH } from '../../../scripts/lib/local-env.js';
import { cachedPrincipalFromHeader } from '../src/auth-cache.js';
import { absorbHeartbeats } from '../src/domain/heartbeats.js';
import { agent, startTestCoordination, type TestCoordination } from './support/coordination.js';
import { startPrivateNats, type PrivateNats } from './support/private-nats.js';

// Heartbeats over NATS taken by hand (absorbHeartbeats), so the order of events is the test's:
// this coordination's own liveness loop does not run within the test (LIVENESS_SWEEP_MS 1 h).
let nats: PrivateNats;
let coord: TestCoordination;
const verify = cachedPrincipalFromHeader(DEV_AUTH.verifier);

beforeAll(async () => {
  nats = await startPrivateNats(4596);
  coord = await startTestCoordination(nats, { LIVENESS_SWEEP_MS: 3_600_000, HEARTBEAT_INTERVAL_MS: 2_000, AGENT_OFFLINE_AFTER_MS: 10_000 });
});

afterAll(async () => {
  await coord?.close();
  await nats?.stop();
});

const beat = async (name: string, session: string) => {
  const body: AgentHeartbeat = { token: await devToken({ kind: 'agent', id: name, roles: ['agent'] }), runningJobIds: [], load: 0, session, claimsSettled: 0 };
  await (await nats.connectAs('agent')).jetstream().publish(heartbeatSubject(name), JSON.stringify(body));
};
const liveness = async (name: string) => (await coord.deps.stores.liveness.get(name))?.record;

describe('taking heartbeats from NATS', () => {
  it('records them with the time they were sent, in one batch for many agents', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `batch-${i}`);
    for (const name of names) await coord.as(agent(name)).agents.register({ name, version: '1', capabilities: ['build'] });
    const before = Date.now();
    for (const name of names) await beat(name, 'new');
    const sent = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    expect(await absorbHeartbeats(coord.deps, verify)).toEqual({ recorded: 50, dropped: 0 });
    for (const name of names) {
      const live = await liveness(name);
      expect(live?.session).toBe('new');
      const at = Date.parse(live!.lastPingAt);
      expect(at).toBeGreaterThanOrEqual(before - 5);
      expect(at).toBeLessThanOrEqual(sent + 5); // when sent, not when taken (50 ms later)
    }
    expect(await absorbHeartbeats(coord.deps, verify)).toEqual({ recorded: 0, dropped: 0 });
  });

  it('never lets a heartbeat taken late overwrite a newer registration (a restarted agent keeps its new session)', async () => {
    await coord.as(agent('restarter')).agents.register({ name: 'restarter', version: '1', capabilities: ['build'], session: 'first' });
    await beat('restarter', 'first'); // the old process's last heartbeat...
    await new Promise((r) => setTimeout(r, 5));
    await coord.as(agent('restarter')).agents.register({ name: 'restarter', version: '1', capabilities: ['build'], session: 'second' }); // ...then it restarts
    expect(await absorbHeartbeats(coord.deps, verify)).toEqual({ recorded: 0, dropped: 1 });
    expect((await liveness('restarter'))?.session).toBe('second');

    await beat('restarter', 'second');
    expect(await absorbHeartbeats(coord.deps, verify)).toEqual({ recorded: 1, dropped: 0 });
    expect((await liveness('restarter'))?.session).toBe('second');
  });

  it('drops a heartbeat older than an interval (the service was away meanwhile)', async () => {
    await coord.as(agent('late')).agents.register({ name: 'late', version: '1', capabilities: ['build'] });
    const registeredAt = (await liveness('late'))!.lastPingAt;
    await beat('late', 'x');
    await new Promise((r) => setTimeout(r, 2_100)); // one interval is 2 s here
    expect(await absorbHeartbeats(coord.deps, verify)).toEqual({ recorded: 0, dropped: 1 });
    expect((await liveness('late'))?.lastPingAt).toBe(registeredAt);
  });
});
