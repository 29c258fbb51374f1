import { EVENT_STREAMS, type EventData, type TypedEnvelope } from '@platform/contracts';
import { connectNats, createEnvelope, ensureStream, publishEnvelope, systemClock, type Logger } from '@platform/kit';
import { randomBytes, randomUUID } from 'node:crypto';
import { round, startPrivateNats, type BenchTable } from '@platform/testkit';
import { recordedIds, type RecordedSubject } from '../src/domain/recorded-runs.js';
import { RUN_RECORDER_DURABLES, startRunRecorder } from '../src/events/recorder.js';
import { knowledgeEnv } from '../src/config.js';
import type { Graph } from '../src/store/neo4j.js';

/*
 * The run recorder draining a backlog of coordination job events (queued, started, succeeded per
 * job) through its real durable consumer on a private nats-server into this graph, one event at a
 * time and with the service's default concurrency, in the same run. Every recorded run is checked
 * (a run per job, its step succeeded, three changes) and then deleted, with the outbox rows it
 * wrote (their ids carry the run's tag).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STATES = [
  ['coordination.job.queued', 'queued', 0, null],
  ['coordination.job.started', 'running', 1, 'bench-agent'],
  ['coordination.job.succeeded', 'succeeded', 1, 'bench-agent'],
] as const;

interface RecorderRun {
  concurrency: number;
  events: number;
  seconds: number;
  exact: boolean;
}

async function drain(graph: Graph, log: Logger, jobs: number, concurrency: number): Promise<RecorderRun> {
  const nats = await startPrivateNats({ portRange: [4690, 4699], as: 'knowledge' });
  const admin = await connectNats({ url: nats.url, user: nats.adminUser, password: nats.adminPassword, name: 'bench-recorder', log });
  const tag = `benchrec${randomBytes(4).toString('hex')}`;
  const jobIds = Array.from({ length: jobs }, () => randomUUID());
  const runIds = jobIds.map(recordedIds.jobRun);
  try {
    for (const stream of [EVENT_STREAMS.coordination, EVENT_STREAMS.operations])
      await ensureStream(admin, { name: stream, subjects: [stream === EVENT_STREAMS.coordination ? 'coordination.>' : 'operations.>'] });
    // As traffic interleaves them: job i's queued event next to job i-8's started and i-16's succeeded.
    const events: Array<TypedEnvelope<RecordedSubject>> = [];
    for (let i = 0; i < jobs + 16; i++) {
      for (const [lag, [subject, status, attempt, agent]] of STATES.entries()) {
        const jobId = jobIds[i - lag * 8];
        if (!jobId) continue;
        const data: EventData<'coordination.job.queued'> = {
          jobId,
          jobType: 'build',
          status,
          targetKind: 'none',
          targetId: null,
          attempt,
          agent,
          owner: { kind: 'user', id: tag },
        };
        events.push(createEnvelope('coordination', subject, { ...data, version: lag + 1 }));
      }
    }
    for (let i = 0; i < events.length; i += 200)
      await Promise.all(events.slice(i, i + 200).map((e) => publishEnvelope(admin.jetstream(), e)));

    const recorderNc = await connectNats({
      url: nats.url,
      user: nats.user,
      password: nats.password,
      name: 'bench-recorder-knowledge',
      log,
    });
    let n = 0;
    const deps = { graph, clock: systemClock, newId: () => `${tag}-${n++}-${randomUUID()}`, log };
    const t0 = performance.now();
    const recorder = startRunRecorder(recorderNc, deps, log, undefined, undefined, concurrency);
    const jsm = await admin.jetstreamManager();
    const { stream, durable } = RUN_RECORDER_DURABLES.coordination;
    for (const deadline = Date.now() + 600_000; ; await sleep(20)) {
      if (Date.now() > deadline) throw new Error(`the recorder did not drain ${events.length} events in 10 minutes`);
      const info = await jsm.consumers.info(stream, durable).catch(() => null);
      if (info && info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= events.length) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    await recorder.stop();
    await recorderNc.close();

    const res = await graph.driver.executeQuery(
      `UNWIND $runIds AS id MATCH (r:WorkflowRun {id: id}) MATCH (s:WorkflowStep {id: r.rootStepId})
       OPTIONAL MATCH (c:StepChange {runId: id}) WITH r, s, count(c) AS changes
       RETURN count(r) AS runs, sum(CASE WHEN s.status = 'succeeded' AND changes = 3 THEN 1 ELSE 0 END) AS complete`,
      { runIds },
      { database: graph.database },
    );
    const runs = Number(res.records[0]?.get('runs'));
    const complete = Number(res.records[0]?.get('complete'));
    return { concurrency, events: events.length, seconds, exact: runs === jobs && complete === jobs };
  } finally {
    await graph.driver.executeQuery(
      `UNWIND $runIds AS id MATCH (r:WorkflowRun {id: id})
       OPTIONAL MATCH (s:WorkflowStep {runId: id}) OPTIONAL MATCH (c:StepChange {runId: id})
       DETACH DELETE r, s, c`,
      { runIds },
      { database: graph.database },
    );
    await graph.driver.executeQuery(
      'MATCH (o:Outbox) WHERE o.id STARTS WITH $tag WITH o LIMIT 100000 DELETE o',
      { tag },
      { database: graph.database },
    );
    await admin.close();
    await nats.destroy();
  }
}

/** One run at concurrency 1 (the baseline) and one at the service's default, each on a fresh backlog. */
export async function benchRecorder(graph: Graph, log: Logger, jobs: number): Promise<BenchTable> {
  const defaultConcurrency = knowledgeEnv.shape.RUN_RECORDER_CONCURRENCY.parse(undefined);
  const one = await drain(graph, log, jobs, 1);
  const many = await drain(graph, log, jobs, defaultConcurrency);
  const row = (r: RecorderRun, label: string) => [
    label,
    r.events,
    round(r.seconds, 2),
    Math.round(r.events / r.seconds),
    r.exact ? 'yes' : 'NO',
  ];
  return {
    title: `Run recorder: a backlog of ${jobs.toLocaleString('en')} jobs' events (queued, started, succeeded) recorded as runs`,
    columns: ['recorder', 'events', 'seconds', 'events/s', 'every run exact'],
    rows: [
      row(one, 'one event at a time (baseline, as before)'),
      row(many, `RUN_RECORDER_CONCURRENCY=${defaultConcurrency} (default): events of one job in order, different jobs at once`),
      ['speed-up', '', '', round(many.events / many.seconds / (one.events / one.seconds), 2), ''],
    ],
    notes: [
      'Through the real durable consumer (consumeEvents) on a private nats-server into the bench graph; timed from the recorder start to the consumer having nothing pending or unacknowledged. Every run is then checked: one run per job, its step succeeded, three step changes.',
      'Each event is one graph transaction of several round trips (lock the steps it names, create or change them, the change rows, the outbox row): one at a time, Neo4j waits between them.',
    ],
  };
}
