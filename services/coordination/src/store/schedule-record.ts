import { JobPriority, JobTargetKind, JobType } from '@platform/contracts';
import { z } from 'zod';

/** A cron schedule (`schedules` bucket, key = id). */
export const ScheduleRecord = z.object({
  id: z.uuid(),
  cron: z.string(),
  timezone: z.string().nullable(),
  jobType: JobType,
  params: z.record(z.string(), z.unknown()),
  targetKind: JobTargetKind,
  targetId: z.string().nullable(),
  priority: JobPriority,
  createdBy: z.string(),
  createdAt: z.string(),
  /** The last cron tick a job was created for (ISO). */
  lastFiredTick: z.string().nullable(),
  lastJobId: z.string().nullable(),
});
export type ScheduleRecord = z.infer<typeof ScheduleRecord>;
