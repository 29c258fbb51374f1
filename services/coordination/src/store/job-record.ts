import { JobId, JobStatus, JobTargetKind, JobType } from '@platform/contracts';
import { z } from 'zod';

export const JobTransition = z.object({
  status: JobStatus,
  at: z.string(),
  attempt: z.number().int().min(0),
  agent: z.string().nullable(),
  note: z.string().optional(),
});

/** A message the record still owes to JetStream: written with the state change, cleared once sent. */
export const PendingMessage = z.object({ subject: z.string(), msgId: z.string(), payload: z.string() });
export type PendingMessage = z.infer<typeof PendingMessage>;

/** The job as stored in the `jobs` KV bucket (validated on every read). */
export const JobRecord = z.object({
  id: JobId,
  jobType: JobType,
  targetKind: JobTargetKind,
  targetId: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  status: JobStatus,
  attempt: z.number().int().min(0),
  agent: z.string().nullable(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  history: z.array(JobTransition),
  outbox: z.array(PendingMessage),
});
export type JobRecord = z.infer<typeof JobRecord>;
