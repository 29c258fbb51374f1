import type { JobStatus } from '@platform/contracts';
import { createEnvelope, type Clock, type IdGenerator } from '@platform/kit';
import { publicJob, type JobRecord } from '../store/job-record.js';
import type { PendingMessage } from '../store/outbox-store.js';
import { deadLetterSubject, jobSubject } from '@platform/contracts';

export const jobEventSubject = {
  queued: 'coordination.job.queued',
  running: 'coordination.job.started',
  succeeded: 'coordination.job.succeeded',
  failed: 'coordination.job.failed',
  cancelled: 'coordination.job.cancelled',
  dead: 'coordination.job.dead',
} as const satisfies Record<JobStatus, string>;

/** The event announcing a job's new state, as an outbox entry (its envelope id is the message id). */
export function jobEvent(deps: { clock: Clock; newId: IdGenerator }, job: JobRecord): PendingMessage {
  const env = createEnvelope(
    'coordination',
    jobEventSubject[job.status],
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
      // Consumers that act on the target act as the owner (operations applies a result as them).
      ...(job.owner ? { owner: job.owner } : {}),
      version: job.history.length,
    },
    deps,
  );
  return {
    subject: env.subject,
    msgId: env.id,
    payload: JSON.stringify(env),
    ...(env.traceparent ? { traceparent: env.traceparent } : {}),
  };
}

/**
 * The work item that puts a job in its type's queue. The message id names the transition
 * (history length), so a re-sent outbox is deduped but a later requeue is a new message.
 */
export function workItem(job: JobRecord): PendingMessage {
  return {
    subject: jobSubject(job.jobType, job.priority),
    msgId: `${job.id}.q${job.history.length}`,
    payload: JSON.stringify({ jobId: job.id }),
  };
}

/** A dead job with its history, on the dead-letter subject (kept in JOBS_DEADLETTER for inspection). */
export function deadLetter(job: JobRecord, reason: string, at: string): PendingMessage {
  return {
    subject: deadLetterSubject(job.jobType),
    msgId: `${job.id}.dead${job.history.length}`,
    payload: JSON.stringify({ reason, deadAt: at, job: publicJob(job) }),
  };
}
