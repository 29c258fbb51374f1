import neo4j, { type Driver } from 'neo4j-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COORDINATION_BUCKETS, EVENT_STREAMS, JOBS_STREAM, DURABLES } from '@platform/contracts';
import { connectNats, createLogger, type NatsConnection } from '@platform/kit';
import { startPrivateNatsCluster, storeEnv, type PrivateNatsCluster, type PrivateNatsNode } from '@platform/testkit';
import { recordedIds } from '../../services/knowledge/src/domain/recorded-runs.js';
import { migratedScratchDb, type ScratchDb } from '../../services/operations/test/support/scratch.js';
import { clientsFor, eventually, startTestSystem, tokenFor, type TestSystem } from '../../scripts/lib/test-system.js';

// Drills against a three-node JetStream cluster (loopback, every stream and KV bucket at replicas 3,
// sync_interval always), through the services' real outboxes and real consumers, asserting on what
// the consumers APPLIED (knowledge's recorded runs in Neo4j, operations' tasks and processed-event
// markers in Postgres, coordination's job records), never on a test-side set:
// a. one node SIGKILLed during a 5,000-event burst and restarted: no event lost, none applied twice;
// b. the leader of the JOBS stream SIGKILLed during dispatch: every job completes exactly once and
//    dispatch resumes within RESUME_BOUND_MS.
// Operations runs on a scratch database, so no other operations process (another test's) relays
// this drill's outbox rows elsewhere, and counts are exact. Knowledge's graph is shared: every
// query is scoped to this run's owner.

const BURST = 5_000;
const JOBS = 240;
/**
 * Dispatch resumes within this after the JOBS leader dies: the election (a new stream leader 5–10 s
 * after a SIGKILL in the runs measured here: nats-server campaigns after some seconds of silence from
 * the leader) plus coordination's claim re-sweep (CLAIM_RESWEEP_MS, 5 s) and outbox sweep (2 s).
 * Measured: see the log line of the dispatch drill.
 */
const RESUME_BOUND_MS = 25_000;

const ports = { knowledge: 4361, operations: 4362, coordination: 4363 };
const runTag = `cluster-${Date.now()}`;
const log = createLogger('drill-cluster', 'silent');
let cluster: PrivateNatsCluster;
let db: ScratchDb;
let system: TestSystem;
let graph: Driver;

/** The local store env's NATS passwords, so each service connects to the cluster as its own user. */
function localNatsPasswords() {
  const env = storeEnv();
  const pw = (u: string) => env[`${u.toUpperCase()}_NATS_PASSWORD`];
  const passwords: Record<string, string> = {};
  for (const u of ['knowledge', 'operations', 'coordination', 'agent', 'subscriber']) {
    const p = pw(u);
    if (!p) throw new Error(`${u.toUpperCase()}_NATS_PASSWORD is not set: run eval "$(bash scripts/infra.sh env)"`);
    passwords[u] = p;
  }
  return passwords;
}

beforeAll(async () => {
  cluster = await startPrivateNatsCluster({ nodes: 3, as: 'platform', passwords: localNatsPasswords() });
  db = await migratedScratchDb('drill_nats_cluster', { poolMax: 4 });
  const env = storeEnv();
  graph = neo4j.driver(env['NEO4J_URI']!, neo4j.auth.basic(env['NEO4J_USER']!, env['NEO4J_PASSWORD']!), { disableLosslessIntegers: true });
  system = await startTestSystem({
    ports,
    // The burst is one caller's 5,000 writes in seconds: above the per-caller rate limit, which is not under test.
    env: { NATS_URL: cluster.url, NATS_STREAM_REPLICAS: '3', DATABASE_URL: db.appUrl, LOG_LEVEL: 'info', RATE_LIMIT_REQUESTS: '100000' },
  });
}, 240_000);

afterAll(async () => {
  await system?.stop();
  await graph?.close();
  await db?.drop();
  await cluster?.destroy();
});

async function graphCount(cypher: string, params: Record<string, unknown>): Promise<number> {
  const session = graph.session();
  try {
    return Number((await session.run(cypher, params)).records[0]!.get(0));
  } finally {
    await session.close();
  }
}

/** Every message of `stream` on `filter`, read with an ordered consumer as the operator. */
async function readStream(
  nc: NatsConnection,
  stream: string,
  filter: string,
): Promise<Array<{ subject: string; data: Record<string, unknown> & { id: string } }>> {
  const jsm = await nc.jetstreamManager();
  const total = (await jsm.streams.info(stream, { subjects_filter: filter })).state.subjects;
  const expected = Object.values(total ?? {}).reduce((a, b) => a + b, 0);
  const consumer = await nc.jetstream().consumers.get(stream, { filterSubjects: [filter] });
  const out: Array<{ subject: string; data: Record<string, unknown> & { id: string } }> = [];
  while (out.length < expected) {
    const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
    for await (const m of batch) out.push({ subject: m.subject, data: m.json() });
  }
  return out;
}

/** Runs `fn` over `items` with `concurrency` in flight. */
async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

describe('three-node NATS cluster, replicas 3', () => {
  it('every stream and KV bucket the services made has three replicas', async () => {
    const jsm = await (await cluster.connectAs('platform')).jetstreamManager();
    for (const stream of [
      EVENT_STREAMS.operations,
      EVENT_STREAMS.knowledge,
      EVENT_STREAMS.coordination,
      JOBS_STREAM,
      `KV_${COORDINATION_BUCKETS.jobs}`,
      `KV_${COORDINATION_BUCKETS.liveness}`,
    ]) {
      const info = await eventually(
        () => jsm.streams.info(stream).catch(() => undefined),
        (i) => i !== undefined,
        60_000,
        `stream ${stream}`,
      );
      expect(info!.config.num_replicas, stream).toBe(3);
      expect(info!.cluster?.replicas?.length, stream).toBe(2);
    }
  });

  it('a node SIGKILLed during a 5,000-event burst and restarted: every event applied, none twice', { timeout: 420_000 }, async () => {
    const ownerId = `burst-${runTag}`;
    const alice = clientsFor(await tokenFor({ kind: 'user', id: ownerId, roles: [] }, 1_800), ports);
    const nc = await cluster.connectAs('platform');
    const jsm = await nc.jetstreamManager();
    const published = async () => (await jsm.streams.info(EVENT_STREAMS.operations).catch(() => undefined))?.state.messages ?? -1;

    // Kill the node that leads the operations event stream (the worst one: publishes stall until a
    // new leader is elected) once a third of the burst is in the stream; restart it 2 s later.
    const victim: PrivateNatsNode = await cluster.streamLeader(EVENT_STREAMS.operations);
    let killedAt = 0;
    let inStreamAtKill = 0;
    const killer = (async () => {
      while ((inStreamAtKill = await published()) < BURST / 3) await new Promise((r) => setTimeout(r, 20));
      await victim.kill('SIGKILL');
      killedAt = Date.now();
      await new Promise((r) => setTimeout(r, 2_000));
      await victim.start();
    })();

    const started = Date.now();
    const taskIds: string[] = [];
    await pool(
      Array.from({ length: BURST }, (_, i) => i),
      16,
      async (i) => {
        taskIds.push((await alice.operations.tasks.create.mutate({ title: `${runTag} burst ${i}`, priority: 'P3' })).id);
      },
    );
    const writtenMs = Date.now() - started;
    await killer;
    expect(taskIds).toHaveLength(BURST);

    // What the consumer applied: one recorded run (and one step, and one change) per task.
    const runs = () => graphCount('MATCH (r:WorkflowRun {kind: "task", ownerId: $ownerId}) RETURN count(r)', { ownerId });
    // Knowledge records ~35 events/s on a busy 2-core machine (one graph transaction each): minutes, not seconds.
    await eventually(runs, (n) => n >= BURST, 270_000, `${BURST} task runs recorded`);
    const allAppliedMs = Date.now() - started;
    await cluster.waitForReplicasCurrent(EVENT_STREAMS.operations);

    const runIds = taskIds.map((id) => recordedIds.taskRun(id));
    const recordedRuns = await graphCount('MATCH (r:WorkflowRun) WHERE r.id IN $runIds RETURN count(r)', { runIds });
    const steps = await graphCount('MATCH (s:WorkflowStep) WHERE s.runId IN $runIds RETURN count(s)', { runIds });
    const changes = await graphCount('MATCH (c:StepChange) WHERE c.runId IN $runIds RETURN count(c)', { runIds });
    // The outbox: every task's event sent, none waiting.
    const outbox = (
      await db.admin.query<{ sent: number; unsent: number }>(
        `SELECT count(*) FILTER (WHERE published_at IS NOT NULL)::int AS sent, count(*) FILTER (WHERE published_at IS NULL)::int AS unsent
           FROM outbox WHERE subject = 'operations.task.created'`,
      )
    ).rows[0]!;
    // The stream: one message per event (a re-sent event is dropped by its Nats-Msg-Id).
    const inStream = await readStream(nc, EVENT_STREAMS.operations, 'operations.task.created');
    const distinct = new Set(inStream.map((m) => m.data.id)).size;
    console.log(
      `drill cluster burst: ${BURST} tasks written in ${writtenMs} ms; node ${victim.name} (stream leader) SIGKILLed with ${inStreamAtKill} events in the stream ` +
        `${killedAt - started} ms in, restarted 2 s later; all ${recordedRuns} runs recorded ${allAppliedMs} ms after the burst began; ` +
        `stream ${inStream.length} messages (${distinct} distinct), outbox sent ${outbox.sent} unsent ${outbox.unsent}, steps ${steps}, changes ${changes}`,
    );
    expect(killedAt).toBeGreaterThan(0);
    expect(outbox).toEqual({ sent: BURST, unsent: 0 });
    expect(inStream.length).toBe(BURST);
    expect(distinct).toBe(BURST);
    // Zero lost: a run for every task. Zero applied twice: one step and one `added` change per run.
    expect(recordedRuns).toBe(BURST);
    expect(steps).toBe(BURST);
    expect(changes).toBe(BURST);
  });

  it(
    'the JOBS stream leader SIGKILLed during dispatch: every job completes exactly once, dispatch resumes within the bound',
    { timeout: 300_000 },
    async () => {
      const ownerId = `jobs-${runTag}`;
      const alice = clientsFor(await tokenFor({ kind: 'user', id: ownerId, roles: [] }, 1_800), ports);
      const taskIds: string[] = [];
      await pool(
        Array.from({ length: JOBS }, (_, i) => i),
        8,
        async (i) => {
          taskIds.push((await alice.operations.tasks.create.mutate({ title: `${runTag} job target ${i}`, priority: 'P2' })).id);
        },
      );
      await system.startAgent(`agent-a-${runTag}`);
      await system.startAgent(`agent-b-${runTag}`);

      // Watch job events from a node that is not the one to die (timing only; counts come from the stores).
      const victim = await cluster.streamLeader(JOBS_STREAM);
      const watcherNode = cluster.nodes.find((n) => n !== victim)!;
      const watcher = await connectNats({
        url: watcherNode.url,
        user: 'platform',
        password: cluster.passwords.platform,
        name: 'drill-watcher',
        log,
        attempts: 1,
      });
      const succeededAt: number[] = [];
      const startedAt: number[] = [];
      const sub = watcher.subscribe('coordination.job.*');
      void (async () => {
        for await (const m of sub) {
          if (m.subject === 'coordination.job.succeeded') succeededAt.push(Date.now());
          if (m.subject === 'coordination.job.started') startedAt.push(Date.now());
        }
      })();

      const jobIds: string[] = [];
      const jobOfTask = new Map<string, string>();
      const started = Date.now();
      await pool(taskIds, 8, async (taskId) => {
        const { jobId } = await alice.coordination.jobs.trigger.mutate({ jobType: 'build', targetId: taskId, params: { target: runTag } });
        jobIds.push(jobId);
        jobOfTask.set(taskId, jobId);
      });
      await eventually(
        async () => succeededAt.length,
        (n) => n >= JOBS / 3,
        120_000,
        'a third of the jobs done',
      );
      await victim.kill('SIGKILL');
      const killedAt = Date.now();
      const doneAtKill = succeededAt.length;
      const restart = (async () => {
        await new Promise((r) => setTimeout(r, 3_000));
        await victim.start();
      })();

      // Done means: operations applied every job's success (the task is done, one marker per event).
      const tasksDone = async () =>
        Number(
          (await db.admin.query(`SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1::uuid[]) AND status = 'done'`, [taskIds])).rows[0]
            .n,
        );
      try {
        await eventually(tasksDone, (n) => n >= JOBS, 180_000, `${JOBS} tasks done by their jobs`);
      } catch (err) {
        // Say where each missing task's job stopped, so a failure in CI can be read from its log alone.
        const notDone = (await db.admin.query(`SELECT id, status FROM tasks WHERE id = ANY($1::uuid[]) AND status <> 'done'`, [taskIds]))
          .rows as Array<{ id: string; status: string }>;
        const nc = await cluster.connectAs('platform');
        const events = await readStream(nc, EVENT_STREAMS.coordination, 'coordination.job.>');
        for (const task of notDone) {
          const jobId = jobOfTask.get(task.id)!;
          const record = await alice.coordination.jobs.get.query({ jobId }).catch((e: unknown) => String(e));
          const subjects = events.filter((e) => (e.data['data'] as { jobId: string }).jobId === jobId).map((e) => e.subject);
          console.log(
            `drill cluster dispatch: task ${task.id} ${task.status}, job ${jobId}: record ${JSON.stringify(record)}; events ${subjects.join(', ')}`,
          );
        }
        throw err;
      }
      const allDoneMs = Date.now() - started;
      await restart;
      // Dispatch stalled for the longest gap between two job starts after the kill (the kill itself
      // counting as one end): a job claimed just before the kill may still start or finish right after
      // it, so the first event after the kill says nothing; the longest gap is the election's cost.
      const after = [killedAt, ...startedAt.filter((t) => t > killedAt)];
      const stallMs = after.length < 2 ? Infinity : Math.max(...after.slice(1).map((t, i) => t - after[i]!));
      const startsAfterKill = after.length - 1;

      // Coordination's records: every job succeeded on its first attempt.
      const records = await Promise.all(jobIds.map((jobId) => alice.coordination.jobs.get.query({ jobId })));
      const notOnce = records
        .filter((j) => j.status !== 'succeeded' || j.attempt !== 1)
        .map((j) => `${j.jobId} ${j.status} attempt ${j.attempt}`);
      // Each job started and succeeded once: one event of each per job (a second run would carry a new envelope id).
      const nc = await cluster.connectAs('platform');
      const events = await readStream(nc, EVENT_STREAMS.coordination, 'coordination.job.>');
      const perJob = new Map<string, { started: number; succeeded: number }>();
      for (const e of events) {
        const data = e.data['data'] as { jobId: string };
        const c = perJob.get(data.jobId) ?? { started: 0, succeeded: 0 };
        if (e.subject === 'coordination.job.started') c.started++;
        if (e.subject === 'coordination.job.succeeded') c.succeeded++;
        perJob.set(data.jobId, c);
      }
      const ranTwice = jobIds.filter((id) => perJob.get(id)?.started !== 1 || perJob.get(id)?.succeeded !== 1);
      // What operations applied: one processed-event marker per success, one `task.completed` per task.
      const markers = Number(
        (await db.admin.query(`SELECT count(*)::int AS n FROM processed_events WHERE consumer = $1`, [DURABLES.operationsJobResults]))
          .rows[0].n,
      );
      // What knowledge applied: each job step recorded pending → running → succeeded, once each.
      const jobSteps = jobIds.map((id) => recordedIds.jobStep(id));
      const jobChanges = () => graphCount('MATCH (c:StepChange) WHERE c.stepId IN $jobSteps RETURN count(c)', { jobSteps });
      await eventually(jobChanges, (n) => n >= 3 * JOBS, 60_000, 'every job step recorded');
      const recordedChanges = await jobChanges();
      await watcher.close();
      console.log(
        `drill cluster dispatch: ${JOBS} jobs, JOBS leader ${victim.name} SIGKILLed after ${doneAtKill} had succeeded; ${startsAfterKill} jobs started after the kill, ` +
          `longest dispatch stall ${stallMs} ms (bound ${RESUME_BOUND_MS} ms); all applied ${allDoneMs} ms after the first trigger; records not once ${notOnce.length}, ran twice ${ranTwice.length}, ` +
          `operations markers ${markers}, knowledge job-step changes ${recordedChanges}`,
      );
      expect(notOnce).toEqual([]);
      expect(ranTwice).toEqual([]);
      expect(markers).toBe(JOBS);
      expect(recordedChanges).toBe(3 * JOBS);
      expect(startsAfterKill).toBeGreaterThan(0);
      expect(stallMs).toBeLessThanOrEqual(RESUME_BOUND_MS);
    },
  );
});
