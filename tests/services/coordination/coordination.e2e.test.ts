import type { CoordinationRouter } from '@platform/coordination/router';
import { connectNats, createLogger, createServiceClient, type NatsConnection } from '@platform/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devToken, type PrivateNats, startPrivateNats } from '@platform/testkit';
import {
  enrolAgent,
  NODE_TS_FLAGS,
  serviceEnv,
  spawnNode,
  spawnService,
  waitForHttp,
  type ServiceProcess,
} from '../../../scripts/lib/processes.js';
import { readEvents, waitFor, waitForEvents } from '../../../services/coordination/test/support/events.js';
import { JOBS_STREAM } from '@platform/contracts';

// Coordination as processes: two replicas (4501, 4502) on a private nats-server, example agents
// as processes. Heartbeat 500 ms (stale after 1 s), offline TTL 2.5 s.
const PORTS = [4501, 4502] as const;
const TIMINGS = {
  HEARTBEAT_INTERVAL_MS: '500',
  AGENT_OFFLINE_AFTER_MS: '2500',
  LIVENESS_SWEEP_MS: '200',
  SCHEDULER_TICK_MS: '200',
  CLAIM_WAIT_MS: '2000',
  SHUTDOWN_TIMEOUT_MS: '3000',
  LOG_LEVEL: 'info',
};
let nats: PrivateNats;
let nc: NatsConnection;
const replicas: ServiceProcess[] = [];
const agents: ServiceProcess[] = [];
let clients: Array<ReturnType<typeof createServiceClient<CoordinationRouter>>>;

const coordinationEnv = (port: number, extra: Record<string, string> = {}) => ({
  ...serviceEnv('coordination', { knowledge: 0, operations: 0, coordination: port }),
  ...nats.env,
  ...TIMINGS,
  ...extra,
});

async function startExampleAgent(name: string, replica: number, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const p = spawnNode(
    name,
    [...NODE_TS_FLAGS, 'shared/agent-sdk/examples/example-agent.ts'],
    {
      COORDINATION_URL: `http://127.0.0.1:${PORTS[replica]}`,
      AGENT_NAME: name,
      // Enrolled as an operator would: a one-time token the agent trades for its own short-lived tokens.
      AGENT_ENROLMENT_TOKEN: await enrolAgent(`http://127.0.0.1:${PORTS[replica]}`, name),
      AGENT_WORK_MS: '20',
      AGENT_CONCURRENCY: '2',
      LOG_LEVEL: 'info',
      // Heartbeats over this test's NATS (idle agents), as the agents' restricted user.
      NATS_URL: nats.url,
      AGENT_NATS_USER: nats.agentUser,
      AGENT_NATS_PASSWORD: nats.agentPassword,
      ...env,
    },
    `coord-e2e-${name}`,
  );
  agents.push(p);
  return p;
}

const job = (jobId: string) => clients[0]!.jobs.get.query({ jobId });
const until = (jobId: string, predicate: (j: Awaited<ReturnType<typeof job>>) => boolean, what: string, timeoutMs = 20_000) =>
  waitFor(
    what,
    async () => {
      const j = await job(jobId);
      return predicate(j) ? j : undefined;
    },
    timeoutMs,
    100,
  );
const exited = (p: ServiceProcess) =>
  new Promise<number | null>((resolve) =>
    p.child.exitCode !== null ? resolve(p.child.exitCode) : p.child.once('exit', (code) => resolve(code)),
  );

beforeAll(async () => {
  nats = await startPrivateNats(4595);
  for (const port of PORTS) replicas.push(spawnService('coordination', coordinationEnv(port), `coord-e2e-replica-${port}`));
  await Promise.all(replicas.map((r) => waitForHttp(`${r.url}/readyz`, 90_000, r)));
  const token = await devToken({ kind: 'user', id: 'e2e', roles: [] });
  clients = PORTS.map((port) =>
    createServiceClient<CoordinationRouter>({ baseUrl: `http://127.0.0.1:${port}`, getToken: async () => token, timeoutMs: 15_000 }),
  );
  nc = await connectNats({
    url: nats.url,
    user: nats.user,
    password: nats.password,
    name: 'coord-e2e',
    log: createLogger('coord-e2e', 'warn'),
  });
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL')));
  await Promise.all(replicas.map((r) => r.stop()));
  await nc?.close();
  await nats?.destroy();
});

describe('coordination processes', () => {
  it('re-queues the job of an agent SIGKILLed mid-job; another agent completes it, once', async () => {
    const victim = await startExampleAgent('victim', 0, { AGENT_WORK_MS: '6000', AGENT_CONCURRENCY: '1' });
    const { jobId } = await clients[0]!.jobs.trigger.mutate({ jobType: 'build', params: { target: 'survive' } });
    await until(jobId, (j) => j.status === 'running' && j.agent === 'victim' && j.progress !== null, 'victim halfway through the job');
    victim.child.kill('SIGKILL');
    await exited(victim);

    await startExampleAgent('heir', 1, { AGENT_CONCURRENCY: '1' });
    const done = await until(jobId, (j) => j.status === 'succeeded', 'job completed by the heir', 30_000);
    expect(done.history.map((h) => `${h.status}:${h.agent ?? '-'}`)).toEqual([
      'queued:-',
      'running:victim',
      'queued:-',
      'running:heir',
      'succeeded:heir',
    ]);
    expect(done.history[2]!.note).toMatch(/victim went offline/);
    expect(done.result).toMatchObject({ by: 'heir', attempt: 2 });
    expect((await clients[1]!.agents.get.query({ name: 'victim' })).status).toBe('offline');
    await waitForEvents(nc, ['coordination.job.succeeded'], (e) => e.data.jobId === jobId, 1);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would show up by now
    expect((await readEvents(nc, ['coordination.job.succeeded'])).filter((e) => e.data.jobId === jobId)).toHaveLength(1);
  });

  it('never dispatches a job twice with two replicas and agents on both', async () => {
    for (let i = 0; i < 4; i++) await startExampleAgent(`pool-${i}`, i % 2, { AGENT_WORK_MS: '150' });
    // Every agent registered first, so the work spreads over agents of both replicas.
    await waitFor(
      'pool online',
      async () => {
        const online = (await clients[0]!.agents.list.query({ status: 'online' })).agents.map((a) => a.name);
        return ['pool-0', 'pool-1', 'pool-2', 'pool-3'].every((n) => online.includes(n)) ? true : undefined;
      },
      60_000,
      200,
    );
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push((await clients[i % 2]!.jobs.trigger.mutate({ jobType: (['gap_analysis', 'build', 'proposal'] as const)[i % 3]! })).jobId);
    const jobs = await Promise.all(ids.map((id) => until(id, (j) => j.status === 'succeeded', `job ${id} succeeded`, 30_000)));
    for (const j of jobs) expect(j.history.filter((h) => h.status === 'running')).toHaveLength(1);
    const started = await waitForEvents(nc, ['coordination.job.started'], (e) => ids.includes(e.data.jobId), 40);
    expect(new Set(started.map((e) => e.data.jobId)).size).toBe(40);
    expect(new Set(jobs.map((j) => j.agent)).size).toBeGreaterThanOrEqual(3);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(JOBS_STREAM)).state.messages).toBe(0);
    // The idle agents' heartbeats went over NATS, and the pool stayed online on them.
    expect((await jsm.streams.info('AGENT_HEARTBEATS')).state.last_seq).toBeGreaterThan(0);
    const pool = (await clients[1]!.agents.list.query({})).agents.filter((a) => a.name.startsWith('pool-'));
    expect(pool.map((a) => a.status)).toEqual(['online', 'online', 'online', 'online']);
  });

  it('fires a schedule once per tick with two replicas', async () => {
    const schedule = await clients[0]!.schedules.create.mutate({ cron: '* * * * * *', jobType: 'proposal', params: { topic: 'tick' } });
    await new Promise((r) => setTimeout(r, 3_300));
    await clients[1]!.schedules.delete.mutate({ scheduleId: schedule.scheduleId });
    await new Promise((r) => setTimeout(r, 800));
    const fired = (await clients[1]!.jobs.list.query({ jobType: 'proposal', limit: 200 })).jobs.filter(
      (j) => j.scheduleId === schedule.scheduleId,
    );
    expect(fired.length).toBeGreaterThanOrEqual(3);
    expect(fired.length).toBeLessThanOrEqual(4);
    expect(new Set(fired.map((j) => j.idempotencyKey)).size).toBe(fired.length);
    await waitForEvents(nc, ['coordination.job.queued'], (e) => fired.some((j) => j.jobId === e.data.jobId), fired.length);
  });

  it('on SIGTERM an agent finishes its in-flight job and exits 0', async () => {
    const leaver = await startExampleAgent('leaver', 0, { AGENT_WORK_MS: '2000', AGENT_CONCURRENCY: '1' });
    // The other agents would take the job too: stop them first (they exit cleanly as well).
    const others = agents.filter((a) => a !== leaver && a.child.exitCode === null && a.child.signalCode === null);
    const codes = await Promise.all(others.map((a) => a.stop('SIGTERM')));
    expect(codes).toEqual(others.map(() => 0));
    await waitFor('leaver registered', async () =>
      (await clients[0]!.agents.list.query({ status: 'online' })).agents.some((a) => a.name === 'leaver') ? true : undefined,
    );
    const { jobId } = await clients[0]!.jobs.trigger.mutate({ jobType: 'gap_analysis' });
    // Progress (reported halfway) proves the handler runs; a job whose claim answer arrives after
    // SIGTERM is released instead, by design.
    await until(jobId, (j) => j.status === 'running' && j.agent === 'leaver' && j.progress !== null, 'leaver halfway through the job');
    expect(await leaver.stop('SIGTERM')).toBe(0);
    const final = await job(jobId);
    expect(final).toMatchObject({ status: 'succeeded', agent: 'leaver' });
  });

  it('refuses to start with bad NATS credentials, loudly', async () => {
    const bad = spawnService('coordination', coordinationEnv(4503, { NATS_PASSWORD: 'wrong' }), 'coord-e2e-badcreds');
    const code = await Promise.race([exited(bad), new Promise<'running'>((r) => setTimeout(() => r('running'), 20_000))]);
    if (code === 'running') await bad.stop('SIGKILL');
    expect(code).not.toBe('running');
    expect(code).not.toBe(0);
  });

  it('/readyz checks NATS and every KV bucket, and names what fails', async () => {
    const ready = (await (await fetch(`${replicas[0]!.url}/readyz`)).json()) as { status: string; checks: Record<string, unknown> };
    expect(ready.status).toBe('ready');
    expect(Object.keys(ready.checks).sort()).toEqual([
      'kv:agent_enrolments',
      'kv:agent_heartbeat_keys',
      'kv:agent_liveness',
      'kv:agents',
      'kv:agents_outbox',
      'kv:job_leases',
      'kv:jobs',
      'kv:jobs_outbox',
      'kv:schedules',
      'nats',
    ]);

    await nats.kill();
    const res = await waitFor(
      'readyz 503',
      async () => {
        const r = await fetch(`${replicas[1]!.url}/readyz`);
        return r.status === 503 ? r : undefined;
      },
      10_000,
      200,
    );
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    const problem = (await res.json()) as { failing: string[] };
    expect(problem.failing).toContain('nats');
    expect(problem.failing).toContain('kv:jobs');
    expect((await fetch(`${replicas[1]!.url}/healthz`)).status).toBe(200);
  });
});
