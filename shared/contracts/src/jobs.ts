import { z } from 'zod';

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead']);
export type JobStatus = z.infer<typeof JobStatus>;

/**
 * Job types and the params each accepts. Adding a job type is one entry here.
 * `targetKind` says what a job's targetId refers to, so consumers know whose job it is.
 */
export const jobTypes = {
  gap_analysis: z.strictObject({ depth: z.number().int().min(1).max(10).default(1) }),
  build: z.strictObject({ target: z.string().min(1).max(200).optional(), dryRun: z.boolean().default(false) }),
  proposal: z.strictObject({ topic: z.string().min(1).max(500).optional() }),
} as const;
export const JobType = z.enum(Object.keys(jobTypes) as [keyof typeof jobTypes, ...(keyof typeof jobTypes)[]]);
export type JobType = z.infer<typeof JobType>;

export const JobTargetKind = z.enum(['task', 'block', 'none']);
export type JobTargetKind = z.infer<typeof JobTargetKind>;
