import { jobTypes, type JobType } from '@platform/contracts';
import { z } from 'zod';

/**
 * Validates a job's params against its type's schema. A failure is a ZodError whose issue paths
 * start with `params`, which the tRPC error formatter returns as BAD_REQUEST with the issues.
 */
export function parseJobParams(jobType: JobType, params: Record<string, unknown> | undefined): Record<string, unknown> {
  const result = (jobTypes[jobType] as z.ZodType<Record<string, unknown>>).safeParse(params ?? {});
  if (result.success) return result.data;
  throw new z.ZodError(result.error.issues.map((issue) => ({ ...issue, path: ['params', ...issue.path] })));
}
