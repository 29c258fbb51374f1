import { jobTypeDefinitions, type JobStatus } from '@platform/contracts';
import { conflict, notFound, type Clock, type IdGenerator } from '@platform/kit';
import { deadLetter, jobEvent, workItem } from '../events/job-events.js';
import type { JobRecord } from '../store/job-record.js';
import { retryDelayMs } from './retry-policy.js';

type Deps = { clock: Clock; newId: IdGenerator };

/** Moves a job to `status`: one history entry and the event announcing it, in the record's outbox. */
export function transition(deps: Deps, job: JobRecord, status: JobStatus, changes: Partial<JobRecord> = {}, note?: string): JobRecord {
  const at = deps.clock().toISOString();
  const next: JobRecord = { ...job, ...changes, status, updatedAt: at };
  next.history = [...job.history, { status, at, attempt: next.attempt, agent: next.agent, ...(note ? { note } : {}) }];
  next.outbox = [...job.outbox, jobEvent(deps, next)];
  return next;
}

/** Back in the queue: the queued event, then the work item (so `started` can never precede `queued`). */
export function requeue(deps: Deps, job: JobRecord, changes: Partial<JobRecord>, note: string): JobRecord {
  const queued = transition(deps, job, 'queued', { agent: null, progress: null, ...changes }, note);
  queued.outbox.push(workItem(queued));
  return queued;
}

/** Dead: the dead event and the dead letter with the history. */
export function kill(deps: Deps, job: JobRecord, reason: string): JobRecord {
  const dead = transition(deps, job, 'dead', {}, reason);
  dead.outbox.push(deadLetter(dead, reason, dead.updatedAt));
  return dead;
}

/**
 * One more failure (an error the agent reported, or the agent lost): queued again after the
 * type's backoff while attempts remain, dead after the last. `backoff` is false for lost agents,
 * where waiting would only delay the job.
 */
export function afterFailure(deps: Deps, job: JobRecord, reason: string, backoff: boolean): JobRecord {
  const failures = job.failures + 1;
  const counted = { ...job, failures };
  if (failures >= job.maxAttempts) return kill(deps, counted, `gave up after ${failures} failure(s): ${reason}`);
  const delay = backoff ? retryDelayMs(jobTypeDefinitions[job.jobType].retry, failures) : 0;
  const notBefore = delay > 0 ? new Date(deps.clock().getTime() + delay).toISOString() : null;
  return requeue(
    deps,
    counted,
    { notBefore },
    `retry ${failures}/${job.maxAttempts - 1}${delay > 0 ? ` after ${delay} ms` : ''}: ${reason}`,
  );
}

/** Only a queued or running job can be cancelled (cancelled → cancelled is refused too: the caller learns it was already). */
export function assertCancellable(job: JobRecord): void {
  if (job.status !== 'queued' && job.status !== 'running')
    throw conflict(`job ${job.id} is ${job.status}; only queued or running jobs can be cancelled`, { status: job.status });
}

/** Only a dead job can be retried by hand (a failed one is already queued again or dead). */
export function assertRetryable(job: JobRecord): void {
  if (job.status !== 'dead') throw conflict(`job ${job.id} is ${job.status}; only dead jobs can be retried`, { status: job.status });
}

/** Only a queued job can be claimed (started): anything else was cancelled, is running, or is over. */
export const isClaimable = (job: JobRecord): boolean => job.status === 'queued';

/** Agents may change only the running jobs they hold. */
export function assertHeldBy(job: JobRecord, agent: string): void {
  // An agent sees a job only while it holds it (or held it last): any other job is NOT_FOUND, as if
  // it did not exist, with no hint of its state or of who holds it.
  if (job.agent !== agent) throw notFound('job', job.id);
  if (job.status !== 'running') throw conflict(`job ${job.id} is ${job.status}, not running`, { status: job.status });
}
