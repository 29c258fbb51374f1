import { JobId, JobOwner, JobPriority, JobStatus, JobTargetKind, JobType } from '@platform/contracts';
import { z } from 'zod';
import { JobProgress, JobTransition } from '../store/job-record.js';

/** Output shapes: explicit, so nothing internal (the outbox) leaks and OpenAPI documents them. */
export const Job = z.object({
  jobId: JobId,
  jobType: JobType,
  status: JobStatus,
  priority: JobPriority,
  targetKind: JobTargetKind,
  targetId: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  attempt: z.number().int(),
  failures: z.number().int(),
  maxAttempts: z.number().int(),
  notBefore: z.string().nullable(),
  agent: z.string().nullable(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  progress: JobProgress.nullable(),
  idempotencyKey: z.string().nullable(),
  scheduleId: z.string().nullable(),
  createdBy: z.string().nullable(),
  owner: JobOwner.nullable(),
  teamId: z.string().nullable(),
  traceparent: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  history: z.array(JobTransition),
});

// The agent's shape is the domain's (agents.onChange streams it too).
export { Agent } from '../domain/agents.js';

export const Schedule = z.object({
  scheduleId: z.uuid(),
  cron: z.string(),
  timezone: z.string().nullable(),
  jobType: JobType,
  params: z.record(z.string(), z.unknown()),
  targetKind: JobTargetKind,
  targetId: z.string().nullable(),
  priority: JobPriority,
  createdBy: z.string(),
  owner: JobOwner.nullable(),
  teamId: z.string().nullable(),
  createdAt: z.string(),
  lastFiredTick: z.string().nullable(),
  lastJobId: z.string().nullable(),
  nextRunAt: z.string().nullable(),
});

/** An agent process's id (the SDK makes one per start), so the service can tell a restart. */
export const Session = z.string().min(1).max(100);

/** Agent names are token subjects. */
export const AgentName = z.string().min(1).max(200);
