import {
  jobTypeDefinitions,
  type JobOwner,
  type JobPriority,
  type JobStatus,
  type JobTargetKind,
  type JobType,
  type Principal,
} from '@platform/contracts';
import { badRequest, notFound, traceHeaders } from '@platform/kit';
import type { JobRecord } from '../store/job-record.js';
import { AlreadyExists } from '../store/typed-kv.js';
import { countAgentError } from './agents.js';
import { dispatchCreated } from './claim.js';
import type { CoordinationDeps } from './deps.js';
import { idempotentJobId } from './idempotency.js';
import { afterFailure, assertCancellable, assertHeldBy, assertRetryable, requeue, transition } from './job-transitions.js';
import { ended, endLease, heldBy, mutateJob, removeLease } from './job-writes.js';
import { UNCHANGED } from './mutate-record.js';
import { assertMayShareWith, ownerOf, viewerFor } from './ownership.js';
import { parseJobParams } from './params.js';
import { assertMayTarget, targetOf } from './task-access.js';

// claim.ts hands a job back with it too, so it lives beside the writes both share.
export { releaseJob } from './job-writes.js';

export interface TriggerInput {
  jobType: JobType;
  targetId?: string | undefined;
  targetKind?: JobTargetKind | undefined;
  params?: Record<string, unknown> | undefined;
  priority?: JobPriority | undefined;
  idempotencyKey?: string | undefined;
  /** Share the job with a team the caller belongs to. */
  teamId?: string | undefined;
}

/** Who a new job belongs to and where it came from. */
export interface JobOrigin {
  owner: JobOwner | null;
  teamId: string | null;
  /** `<kind>:<id>` of whoever made it (the scheduler for scheduled jobs); also scopes idempotency keys. */
  createdBy: string;
  scheduleId: string | null;
}

/**
 * Validates params against the job type's schema (BAD_REQUEST with the issues, nothing written),
 * checks the caller may share with the named team and may change the task the job targets (asked
 * of operations as the caller: NOT_FOUND / FORBIDDEN as operations says), then queues the job,
 * owned by the caller. With an idempotency key the job id is derived from (caller, key), so a
 * repeated trigger — from a retrying client — returns the first job.
 */
export async function triggerJob(
  deps: CoordinationDeps,
  principal: Principal,
  input: TriggerInput,
): Promise<{ job: JobRecord; created: boolean }> {
  const params = parseJobParams(input.jobType, input.params);
  const target = targetOf(input);
  await assertMayShareWith(deps.teams, principal, input.teamId);
  await assertMayTarget(deps.taskAccess, principal, target);
  const origin = {
    owner: ownerOf(principal),
    teamId: input.teamId ?? null,
    createdBy: `${principal.kind}:${principal.id}`,
    scheduleId: null,
  };
  return createJob(deps, origin, { ...input, ...target, params });
}

/**
 * Writes a new job and hands it to a waiting claim or its queue. No access checks: triggerJob made
 * them for a caller, createSchedule for a schedule's owner.
 */
export async function createJob(
  deps: CoordinationDeps,
  origin: JobOrigin,
  input: {
    jobType: JobType;
    targetKind: JobTargetKind;
    targetId: string | null;
    params: Record<string, unknown>;
    priority?: JobPriority | undefined;
    idempotencyKey?: string | undefined;
  },
): Promise<{ job: JobRecord; created: boolean }> {
  const id = input.idempotencyKey ? idempotentJobId(origin.createdBy, input.idempotencyKey) : deps.newId();
  const now = deps.clock().toISOString();
  const base: JobRecord = {
    id,
    jobType: input.jobType,
    targetKind: input.targetKind,
    targetId: input.targetId,
    params: input.params,
    status: 'queued',
    priority: input.priority ?? 'normal',
    attempt: 0,
    failures: 0,
    maxAttempts: jobTypeDefinitions[input.jobType].retry.maxAttempts,
    notBefore: null,
    agent: null,
    leaseRevision: null,
    progress: null,
    idempotencyKey: input.idempotencyKey ?? null,
    scheduleId: origin.scheduleId,
    createdBy: origin.createdBy,
    owner: origin.owner,
    teamId: origin.teamId,
    traceparent: traceHeaders()['traceparent'] ?? null,
    createdAt: now,
    updatedAt: now,
    history: [],
    outbox: [],
  };
  const job = requeue(deps, base, {}, 'triggered');
  let written;
  try {
    written = await deps.stores.jobs.create(id, job);
  } catch (err) {
    if (!(err instanceof AlreadyExists)) throw err;
    return { job: await readJob(deps, id), created: false };
  }
  // In the background, like any outbox send: the job is durable and its marker covers a crash.
  deps.background.run(`dispatch ${id}`, () => dispatchCreated(deps, { record: job, revision: written.revision }, written.marker));
  return { job, created: true };
}

async function readJob(deps: CoordinationDeps, id: string): Promise<JobRecord> {
  const found = await deps.stores.jobs.get(id);
  if (!found) throw notFound('job', id);
  return found.record;
}

/** A job the principal may see; one it may not is NOT_FOUND, exactly like one that does not exist. */
export async function getJob(deps: CoordinationDeps, principal: Principal, id: string): Promise<JobRecord> {
  const job = await readJob(deps, id);
  if (!(await viewerFor(deps.teams, principal)).job(job)) throw notFound('job', id);
  return job;
}

export interface ListJobsInput {
  status?: JobStatus | undefined;
  jobType?: JobType | undefined;
  agent?: string | undefined;
  targetId?: string | undefined;
  priority?: JobPriority | undefined;
  cursor?: string | undefined;
  limit: number;
}

interface Cursor {
  createdAt: string;
  id: string;
}
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
function decodeCursor(raw: string): Cursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id };
  } catch {
    // fall through
  }
  throw badRequest('cursor is not one this service returned');
}

/** Newest first, so "after the cursor" means older than (createdAt, id). */
const newerFirst = (a: Cursor, b: Cursor) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.createdAt < b.createdAt ? 1 : -1;

/**
 * Jobs the principal may see that match the filters, newest first, a page at a time. KV has no
 * secondary index, so this reads the bucket once per call (one ordered consumer): fine for an
 * operator's list over thousands of jobs; a larger history wants finished jobs archived out of
 * the bucket.
 */
export async function listJobs(
  deps: CoordinationDeps,
  principal: Principal,
  input: ListJobsInput,
): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
  const after = input.cursor ? decodeCursor(input.cursor) : null;
  const viewer = await viewerFor(deps.teams, principal);
  const matching = (await deps.stores.jobs.records.scan())
    .map((e) => e.record)
    .filter(
      (j) =>
        viewer.job(j) &&
        (!input.status || j.status === input.status) &&
        (!input.jobType || j.jobType === input.jobType) &&
        (!input.agent || j.agent === input.agent) &&
        (!input.targetId || j.targetId === input.targetId) &&
        (!input.priority || j.priority === input.priority) &&
        (!after || newerFirst(after, j) < 0),
    )
    .sort(newerFirst);
  const page = matching.slice(0, input.limit);
  const last = page.at(-1);
  return { jobs: page, nextCursor: matching.length > input.limit && last ? encodeCursor(last) : null };
}

/**
 * Cancels a queued or running job. A queued job's work item is dropped when it is pulled; a
 * running job's agent learns of it on its next ping or progress report.
 */
export async function cancelJob(deps: CoordinationDeps, principal: Principal, id: string, reason?: string): Promise<JobRecord> {
  await getJob(deps, principal, id); // NOT_FOUND unless the caller may see it (owner and team never change)
  let held: ReturnType<typeof heldBy> = null;
  const { record } = await mutateJob(deps, id, (job) => {
    assertCancellable(job);
    held = heldBy(job);
    return transition(deps, job, 'cancelled', ended, reason ?? `cancelled by ${principal.kind} ${principal.id}`);
  });
  endLease(deps, held, id);
  return record;
}

/** Re-queues a dead job with a fresh set of attempts. */
export async function retryJob(deps: CoordinationDeps, principal: Principal, id: string): Promise<JobRecord> {
  await getJob(deps, principal, id); // NOT_FOUND unless the caller may see it
  const { record } = await mutateJob(deps, id, (job) => {
    assertRetryable(job);
    return requeue(deps, job, { failures: 0, notBefore: null }, `retried by ${principal.kind} ${principal.id}`);
  });
  return record;
}

export async function completeJob(deps: CoordinationDeps, agent: string, id: string, result: unknown): Promise<JobRecord> {
  let held: ReturnType<typeof heldBy> = null;
  // The running job's lease covers the write (no outbox marker) and is removed once its events are out.
  const afterSent = () => removeLease(deps, held, id);
  const { record } = await mutateJob(
    deps,
    id,
    (job) => {
      // A repeated complete (the agent retrying after a lost answer) is answered, not refused.
      if (job.status === 'succeeded' && job.agent === agent) return UNCHANGED;
      assertHeldBy(job, agent);
      held = heldBy(job);
      return transition(deps, job, 'succeeded', { result, ...ended });
    },
    { coveredByLease: { afterSent } },
  );
  return record;
}

/** The agent's handler failed: failed, then queued again after the backoff, or dead after the last attempt. */
export async function failJob(deps: CoordinationDeps, agent: string, id: string, error: string): Promise<JobRecord> {
  let held: ReturnType<typeof heldBy> = null;
  const { record } = await mutateJob(deps, id, (job) => {
    assertHeldBy(job, agent);
    held = heldBy(job);
    return afterFailure(deps, transition(deps, job, 'failed', { error, ...ended }), error, true);
  });
  endLease(deps, held, id);
  deps.background.run(`error count ${agent}`, () => countAgentError(deps, agent));
  return record;
}

export interface ProgressAnswer {
  status: JobStatus;
  /** False when the agent should stop: the job was cancelled, or is no longer the agent's. */
  keepGoing: boolean;
  cancelled: boolean;
}

/** Records progress on a running job and tells the agent whether to carry on. */
export async function reportProgress(
  deps: CoordinationDeps,
  agent: string,
  id: string,
  progress: { fraction?: number | undefined; message?: string | undefined },
): Promise<ProgressAnswer> {
  const { record } = await mutateJob(
    deps,
    id,
    (job) => {
      // Not this agent's (now or last): NOT_FOUND, like assertHeldBy, so no agent reads another's job status.
      if (job.agent !== agent) throw notFound('job', id);
      if (job.status !== 'running') return UNCHANGED;
      return {
        ...job,
        progress: { fraction: progress.fraction ?? null, message: progress.message ?? null, at: deps.clock().toISOString() },
      };
    },
    {},
  ); // no event: no marker
  const keepGoing = record.status === 'running' && record.agent === agent;
  return { status: record.status, keepGoing, cancelled: record.status === 'cancelled' };
}

/**
 * A running job whose agent is gone (offline, stuck past its grace period, or no longer listing
 * it): back to the queue at once, counted as a failure so a job that kills its agents ends dead.
 * Does nothing when the job has moved on (finished, or already requeued by another replica).
 */
export async function requeueLostJob(deps: CoordinationDeps, jobId: string, agent: string, reason: string): Promise<boolean> {
  let changed = false;
  let held: ReturnType<typeof heldBy> = null;
  try {
    ({ changed } = await mutateJob(deps, jobId, (job) => {
      if (job.status !== 'running' || job.agent !== agent) return UNCHANGED;
      held = heldBy(job);
      return afterFailure(deps, { ...job, ...ended }, reason, false);
    }));
  } catch (err) {
    if (!(err instanceof Error && err.name === 'DomainError')) throw err; // the job no longer exists
  }
  // Our lease, or (when the job moved on) whatever lease this agent still has for it. A lease may
  // cover a write whose events a crash left unsent (started, succeeded: see coveredByLease), so
  // when this call wrote nothing, the job's outbox goes out before the lease goes.
  if (changed) endLease(deps, held, jobId);
  else
    deps.background.run(`lease ${jobId}`, async () => {
      await deps.outbox.flush(deps.stores.jobs, jobId).catch(() => undefined); // a job that no longer exists owes nothing
      await removeLease(deps, { agent, leaseRevision: null }, jobId);
    });
  if (changed) deps.log.warn({ jobId, agent, reason }, 'requeued a job its agent lost');
  return changed;
}
