import { z } from 'zod';

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead']);
export type JobStatus = z.infer<typeof JobStatus>;

/** Dispatch order: every `high` job of an agent's capabilities before any `normal`, and so on. */
export const JobPriority = z.enum(['high', 'normal', 'low']);
export type JobPriority = z.infer<typeof JobPriority>;

/** How often a job type may fail (or lose its agent) before it is dead-lettered, and the base of its backoff. */
export interface JobRetryPolicy {
  maxAttempts: number;
  /** Delay before the n-th retry: backoffMs × 2^(n-1), capped at maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
}

/**
 * Job types: the params each accepts and its retry policy. Adding a job type is one entry here.
 * `targetKind` says what a job's targetId refers to, so consumers know whose job it is.
 */
export const jobTypeDefinitions = {
  gap_analysis: {
    params: z.strictObject({ depth: z.number().int().min(1).max(10).default(1) }),
    retry: { maxAttempts: 3, backoffMs: 1_000, maxBackoffMs: 30_000 },
  },
  build: {
    params: z.strictObject({ target: z.string().min(1).max(200).optional(), dryRun: z.boolean().default(false) }),
    retry: { maxAttempts: 3, backoffMs: 2_000, maxBackoffMs: 60_000 },
  },
  proposal: {
    params: z.strictObject({ topic: z.string().min(1).max(500).optional() }),
    retry: { maxAttempts: 2, backoffMs: 1_000, maxBackoffMs: 30_000 },
  },
} as const satisfies Record<string, { params: z.ZodType; retry: JobRetryPolicy }>;

type JobTypeName = keyof typeof jobTypeDefinitions;
export const JobType = z.enum(Object.keys(jobTypeDefinitions) as [JobTypeName, ...JobTypeName[]]);
export type JobType = z.infer<typeof JobType>;

/** Each job type's params schema (the allow-list the trigger validates against). */
export const jobTypes = Object.fromEntries(Object.entries(jobTypeDefinitions).map(([k, v]) => [k, v.params])) as {
  [K in JobType]: (typeof jobTypeDefinitions)[K]['params'];
};
export type JobParams<T extends JobType> = z.infer<(typeof jobTypeDefinitions)[T]['params']>;

export const JobTargetKind = z.enum(['task', 'block', 'none']);
export type JobTargetKind = z.infer<typeof JobTargetKind>;
