import { JobId, JobOwner, JobPriority, JobStatus, JobTargetKind, JobType } from '@platform/contracts';
import { z } from 'zod';
import { PendingMessage } from './outbox-store.js';

export const JobTransition = z.object({
  status: JobStatus,
  at: z.string(),
  attempt: z.number().int().min(0),
  agent: z.string().nullable(),
  note: z.string().optional(),
});

export const JobProgress = z.object({
  fraction: z.number().min(0).max(1).nullable(),
  message: z.string().nullable(),
  at: z.string(),
});

/**
 * The job as stored in the `jobs` KV bucket (validated on every read). Fields added after the
 * first version have defaults, so records written by it still parse.
 */
export const JobRecord = z.object({
  id: JobId,
  jobType: JobType,
  targetKind: JobTargetKind,
  targetId: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  status: JobStatus,
  priority: JobPriority.default('normal'),
  /** Times an agent has taken the job (the handler's attempt number). */
  attempt: z.number().int().min(0),
  /** Failures (and lost agents) since the job was queued or last retried by hand; dead at maxAttempts. */
  failures: z.number().int().min(0).default(0),
  maxAttempts: z.number().int().min(1).default(3),
  /** A retry waits for its backoff: not dispatched before this time. */
  notBefore: z.string().nullable().default(null),
  agent: z.string().nullable(),
  /** Revision of the running job's lease, so ending it costs one request. */
  leaseRevision: z.number().int().nullable().default(null),
  result: z.unknown().optional(),
  error: z.string().optional(),
  progress: JobProgress.nullable().default(null),
  idempotencyKey: z.string().nullable().default(null),
  scheduleId: z.string().nullable().default(null),
  createdBy: z.string().nullable().default(null),
  /**
   * Whose job it is: the principal that triggered it, or its schedule's owner. Only the owner, its
   * team, services and admins see it (and an agent while it holds it). Null on jobs written before
   * jobs had owners: services and admins only.
   */
  owner: JobOwner.nullable().default(null),
  /** The team the job is shared with (the owner is a member), if any. */
  teamId: z.string().nullable().default(null),
  /** W3C traceparent of the trigger: the agent continues that trace, so one trace runs trigger → work → completion. */
  traceparent: z.string().nullable().default(null),
  createdAt: z.string(),
  updatedAt: z.string(),
  history: z.array(JobTransition),
  outbox: z.array(PendingMessage),
});
export type JobRecord = z.infer<typeof JobRecord>;

export type PublicJob = Omit<JobRecord, 'outbox' | 'id' | 'leaseRevision'> & { jobId: string };

/** The public shape: the record minus its internal bookkeeping (outbox, lease revision). */
export const publicJob = ({ outbox: _outbox, leaseRevision: _lease, id, ...rest }: JobRecord): PublicJob => ({ jobId: id, ...rest });
