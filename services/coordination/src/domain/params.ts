import { jobTypes, type JobType } from '@platform/contracts';
import { z } from 'zod';

/** Per type, the params schema under a `params` key, so issue paths read `params.<field>`. */
const wrapped = Object.fromEntries(
  Object.entries(jobTypes).map(([type, schema]) => [type, z.object({ params: schema })]),
) as unknown as Record<JobType, z.ZodType<{ params: Record<string, unknown> }>>;

/**
 * Validates a job's params against its type's schema. A failure is the ZodError zod throws (a
 * hand-made one is not an Error in zod 4), which the tRPC error formatter returns as BAD_REQUEST
 * with the issues.
 */
export function parseJobParams(jobType: JobType, params: Record<string, unknown> | undefined): Record<string, unknown> {
  return wrapped[jobType].parse({ params: params ?? {} }).params;
}
