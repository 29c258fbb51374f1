import { z } from 'zod';
import { JobId } from '../ids.js';
import { JobStatus, JobTargetKind, JobType } from '../jobs.js';

export const JobEvent = z.object({
  jobId: JobId,
  jobType: JobType,
  status: JobStatus,
  targetKind: JobTargetKind,
  targetId: z.string().max(200).nullable(),
  attempt: z.number().int().min(0),
  agent: z.string().nullable(),
  result: z.unknown().optional(),
  error: z.string().optional(),
});

/** Subjects the coordination service publishes (stream COORDINATION_EVENTS, `coordination.>`). */
export const coordinationEvents = {
  'coordination.job.queued': JobEvent,
  'coordination.job.started': JobEvent,
  'coordination.job.succeeded': JobEvent,
  'coordination.job.failed': JobEvent,
  'coordination.job.cancelled': JobEvent,
  'coordination.job.dead': JobEvent,
} as const;
