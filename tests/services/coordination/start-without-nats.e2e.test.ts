import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv, spawnService, waitForHttp, type ServiceProcess } from '../../../scripts/lib/processes.js';
import { eventually, tokenFor } from '../../../scripts/lib/test-system.js';
import { callProcedure } from '../../lib/http-call.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

// Rule: coordination starts while NATS (its store: streams and KV buckets) is down — here a private
// server that does not exist yet — answers /healthz 200, /readyz 503 problem+json naming nats,
// refuses calls with SERVICE_UNAVAILABLE and a message that names nats, and becomes ready by itself
// (streams and buckets made, calls served) once NATS comes up: the same process, no restart.
const ports = { knowledge: 4289, operations: 4288, coordination: 4287 };
const NATS_PORT = 4599;
// The private server's users (@platform/testkit's private-nats.ts): coordination's own, with its permissions.
const NATS_ENV = { NATS_URL: `nats://127.0.0.1:${NATS_PORT}`, NATS_USER: 'coordination', NATS_PASSWORD: 'coordination_test_pw' };
let coordination: ServiceProcess | undefined;
let nats: PrivateNats | undefined;

beforeAll(() => {
  coordination = spawnService('coordination', serviceEnv('coordination', ports, NATS_ENV), 'test-coordination-start-without-nats');
});

afterAll(async () => {
  await coordination?.stop();
  await nats?.destroy();
});

const listJobs = async () =>
  callProcedure(
    ports,
    { service: 'coordination', path: 'jobs.list', type: 'query' },
    {},
    await tokenFor({ kind: 'user', id: 'no-store', roles: [] }),
  );

describe('coordination started without NATS', () => {
  it('is alive, not ready (naming nats), refuses calls, then becomes ready by itself when NATS starts', { timeout: 120_000 }, async () => {
    const proc = coordination!;
    await waitForHttp(`${proc.url}/healthz`, 60_000, proc);

    const notReady = await fetch(`${proc.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await notReady.json()) as { failing: string[]; checks: Record<string, { ok: boolean; error?: string }> };
    // NATS first; every KV bucket lives in it, so those fail with it, for the same reason.
    expect(body.failing[0]).toBe('nats');
    expect(body.checks['nats']?.error).toMatch(/not reached since start/);
    expect(Object.values(body.checks).every((c) => !c.ok)).toBe(true);

    const refused = await listJobs();
    expect(refused.status).toBe(503);
    expect(refused.code).toBe('SERVICE_UNAVAILABLE');
    expect((refused.body as { error: { message: string } }).error.message).toMatch(
      /^nats is unavailable: not reached since this service started/,
    );
    expect(refused.ms).toBeLessThan(2_000);
    expect((await fetch(`${proc.url}/healthz`)).status).toBe(200);

    const upAt = Date.now();
    nats = await startPrivateNats(NATS_PORT);
    expect(nats.env).toEqual(NATS_ENV); // the credentials the process was given are the server's
    const natsUpMs = Date.now() - upAt;
    await waitForHttp(`${proc.url}/readyz`, 30_000, proc);
    const readyMs = Date.now() - upAt - natsUpMs;
    const ok = await eventually(listJobs, (r) => r.status === 200, 10_000, 'jobs.list after NATS came up');
    expect(ok.body).toMatchObject({ result: { data: { jobs: [] } } });
    expect(proc.child.exitCode).toBeNull(); // the same process throughout
    console.log(
      `start without nats: refused in ${refused.ms.toFixed(0)} ms (${refused.code}); nats up took ${natsUpMs} ms; coordination ready ${readyMs} ms after that; jobs.list → ${ok.status}`,
    );
  });
});
