import { JobOwner, JobPriority, JobTargetKind, JobType } from '@platform/contracts';
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
  /** Whose schedule it is; its jobs belong to the same owner and team. Null on schedules written before owners: services and admins only. */
  owner: JobOwner.nullable().default(null),
  teamId: z.string().nullable().default(null),
  createdAt: z.string(),
  /** The last cron tick a job was created for (ISO). */
  lastFiredTick: z.string().nullable(),
  lastJobId: z.string().nullable(),
});
export type ScheduleRecord = z.infer<typeof ScheduleRecord>;
