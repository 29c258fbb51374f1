import { createEnvelope, notFound, conflict, publishJson, type Clock, type IdGenerator, type JetStreamClient, type Logger, type NatsConnection } from '@platform/kit';
import { jobTypes, type JobStatus, type JobTargetKind, type JobType, type Principal } from '@platform/contracts';
import { z } from 'zod';
import type { JobRecord, PendingMessage } from '../store/job-record.js';
import { RevisionConflict, type JobStore } from '../store/jobs.js';
import { jobConsumer, jobSubject, JOBS_STREAM } from '../store/streams.js';

export interface JobDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  store: JobStore;
  clock: Clock;
  newId: IdGenerator;
  log: Logger;
}

export interface TriggerInput {
  jobType: JobType;
  targetId?: string | undefined;
  targetKind?: JobTargetKind | undefined;
  params?: Record<string, unknown> | undefined;
}

const jobEventSubject = {
  queued: 'coordination.job.queued',
  running: 'coordination.job.started',
  succeeded: 'coordination.job.succeeded',
  failed: 'coordination.job.failed',
  cancelled: 'coordination.job.cancelled',
  dead: 'coordination.job.dead',
} as const satisfies Record<JobStatus, string>;

/** The event announcing a job's state, as an outbox entry of the record. */
function eventFor(deps: JobDeps, job: JobRecord): PendingMessage {
  const subject = jobEventSubject[job.status];
  const env = createEnvelope(
    'coordination',
    subject,
    {
      jobId: job.id,
      jobType: job.jobType,
      status: job.status,
      targetKind: job.targetKind,
      targetId: job.targetId,
      attempt: job.attempt,
      agent: job.agent,
      ...(job.result !== undefined ? { result: job.result } : {}),
      ...(job.error !== undefined ? { error: job.error } : {}),
    },
    deps,
  );
  return { subject: env.subject, msgId: env.id, payload: JSON.stringify(env) };
}

function transition(deps: JobDeps, job: JobRecord, status: JobStatus, changes: Partial<JobRecord> = {}, note?: string): JobRecord {
  const at = deps.clock().toISOString();
  const next: JobRecord = { ...job, ...changes, status, updatedAt: at };
  next.history = [...job.history, { status, at, attempt: next.attempt, agent: next.agent, ...(note ? { note } : {}) }];
  next.outbox = [...job.outbox, eventFor(deps, next)];
  return next;
}

/** Validates params against the job type's schema (zod error → BAD_REQUEST), then queues the job. */
export async function triggerJob(deps: JobDeps, _principal: Principal, input: TriggerInput): Promise<JobRecord> {
  const params = jobTypes[input.jobType].parse(input.params ?? {}) as Record<string, unknown>;
  const now = deps.clock().toISOString();
  const id = deps.newId();
  const base: JobRecord = {
    id,
    jobType: input.jobType,
    // A job that names a target without saying its kind targets a task (the common case).
    targetKind: input.targetKind ?? (input.targetId ? 'task' : 'none'),
    targetId: input.targetId ?? null,
    params,
    status: 'queued',
    attempt: 0,
    agent: null,
    createdAt: now,
    updatedAt: now,
    history: [],
    outbox: [{ subject: jobSubject(input.jobType), msgId: id, payload: JSON.stringify({ jobId: id }) }],
  };
  const job = transition(deps, base, 'queued');
  await deps.store.create(job);
  await flushJob(deps, id);
  return job;
}

export async function getJob(deps: JobDeps, id: string): Promise<JobRecord> {
  const found = await deps.store.get(id);
  if (!found) throw notFound('job', id);
  return found.record;
}

/** Applies `change` with compare-and-set, retrying on concurrent writers, then sends the outbox. */
async function mutate(deps: JobDeps, id: string, change: (job: JobRecord) => JobRecord): Promise<JobRecord> {
  for (let i = 0; i < 5; i++) {
    const found = await deps.store.get(id);
    if (!found) throw notFound('job', id);
    const next = change(found.record);
    try {
      await deps.store.update(next, found.revision);
    } catch (err) {
      if (err instanceof RevisionConflict) continue;
      throw err;
    }
    await flushJob(deps, id);
    return next;
  }
  throw conflict(`job ${id} is changing too fast; retry`);
}

/**
 * Publishes what a record owes (work item, events) with stable message ids, then removes the sent
 * entries. A crash in between re-sends on the next sweep and JetStream drops the duplicates.
 */
export async function flushJob(deps: JobDeps, id: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const found = await deps.store.get(id);
    if (!found || found.record.outbox.length === 0) return deps.store.clearPending(id);
    for (const m of found.record.outbox) await publishJson(deps.js, m.subject, m.payload, m.msgId);
    const sent = new Set(found.record.outbox.map((m) => m.msgId));
    try {
      const fresh = await deps.store.get(id);
      if (!fresh) return;
      const rest = fresh.record.outbox.filter((m) => !sent.has(m.msgId));
      await deps.store.update({ ...fresh.record, outbox: rest }, fresh.revision);
      if (rest.length === 0) return deps.store.clearPending(id);
    } catch (err) {
      if (!(err instanceof RevisionConflict)) throw err;
    }
  }
}

/** Sends whatever records still owe (after a crash, or a NATS outage during a write). */
export async function sweepOutbox(deps: JobDeps): Promise<number> {
  const ids = await deps.store.pendingIds();
  for (const id of ids) await flushJob(deps, id);
  return ids.length;
}

const WorkItem = z.object({ jobId: z.string() });

/**
 * Hands the next queued job of one of `capabilities` to `agent`, waiting up to `waitMs`.
 * The work-queue message is acked once the job is recorded as running, so two agents (or two
 * coordination replicas) never get the same job.
 */
export async function claimJob(deps: JobDeps, agent: string, capabilities: readonly JobType[], waitMs: number): Promise<JobRecord | null> {
  const deadline = Date.now() + waitMs;
  do {
    for (const type of capabilities) {
      const consumer = await deps.js.consumers.get(JOBS_STREAM, jobConsumer(type));
      const remaining = Math.max(0, deadline - Date.now());
      const msg = await consumer.next({ expires: Math.max(1_000, Math.min(remaining, 5_000) / capabilities.length) });
      if (!msg) continue;
      const item = WorkItem.safeParse(msg.json());
      const found = item.success ? await deps.store.get(item.data.jobId) : null;
      if (!found || found.record.status !== 'queued') {
        deps.log.warn({ jobId: item.success ? item.data.jobId : null, status: found?.record.status }, 'dropping work item for a job that is not queued');
        msg.term();
        continue;
      }
      const job = await mutate(deps, found.record.id, (j) => transition(deps, j, 'running', { agent, attempt: j.attempt + 1 }));
      msg.ack();
      return job;
    }
  } while (Date.now() < deadline);
  return null;
}

function ownRunningJob(job: JobRecord, agent: string): void {
  if (job.status !== 'running') throw conflict(`job ${job.id} is ${job.status}, not running`, { status: job.status });
  if (job.agent !== agent) throw conflict(`job ${job.id} is held by another agent`, { agent: job.agent });
}

export function completeJob(deps: JobDeps, agent: string, id: string, result: unknown): Promise<JobRecord> {
  return mutate(deps, id, (job) => {
    ownRunningJob(job, agent);
    return transition(deps, job, 'succeeded', { result });
  });
}

export function failJob(deps: JobDeps, agent: string, id: string, error: string): Promise<JobRecord> {
  return mutate(deps, id, (job) => {
    ownRunningJob(job, agent);
    return transition(deps, job, 'failed', { error });
  });
}
