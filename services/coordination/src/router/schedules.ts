import { openApiMeta } from '@platform/kit';
import { JobPriority, JobTargetKind, JobType } from '@platform/contracts';
import { z } from 'zod';
import type { CoordinationDeps } from '../domain/deps.js';
import { createSchedule, deleteSchedule, listSchedules, nextRunAt } from '../domain/schedules.js';
import type { ScheduleRecord } from '../store/schedule-record.js';
import { authedProcedure, callerProcedure, router } from '../trpc.js';
import { Schedule } from './wire.js';

const meta = openApiMeta('schedules');

export function schedulesRouter(deps: CoordinationDeps) {
  const view = ({ id, ...rest }: ScheduleRecord): z.infer<typeof Schedule> => ({
    scheduleId: id,
    ...rest,
    nextRunAt: nextRunAt({ id, ...rest }, deps.clock()),
  });
  return router({
    create: callerProcedure
      .meta(
        meta(
          'POST',
          '/schedules/create',
          'Schedule a job with cron (5 fields, or 6 with seconds); fires at most once per tick across replicas; its jobs are the caller’s',
        ),
      )
      .input(
        z.strictObject({
          cron: z.string().min(9).max(200),
          timezone: z.string().min(1).max(100).optional(),
          jobType: JobType,
          params: z.record(z.string(), z.unknown()).optional(),
          targetId: z.string().min(1).max(200).optional(),
          targetKind: JobTargetKind.optional(),
          priority: JobPriority.optional(),
          /** Share the schedule and its jobs with a team the caller belongs to. */
          teamId: z.uuid().optional(),
        }),
      )
      .output(Schedule)
      .mutation(async ({ ctx, input }) => view(await createSchedule(deps, ctx.principal, input))),
    list: authedProcedure
      .meta(
        meta(
          'GET',
          '/schedules/list',
          'List the schedules the caller may see (own and its teams’; services and admins all), newest first, a page at a time (limit: default 100, max 500)',
        ),
      )
      .input(
        z.strictObject({
          jobType: JobType.optional(),
          cursor: z.string().min(1).max(500).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      )
      .output(z.object({ schedules: z.array(Schedule), nextCursor: z.string().nullable() }))
      .query(async ({ ctx, input }) => {
        const page = await listSchedules(deps, ctx.principal, input);
        return { schedules: page.items.map(view), nextCursor: page.nextCursor };
      }),
    delete: callerProcedure
      .meta(meta('POST', '/schedules/delete', 'Delete a schedule the caller may see'))
      .input(z.strictObject({ scheduleId: z.uuid() }))
      .output(z.object({ deleted: z.literal(true) }))
      .mutation(async ({ ctx, input }) => {
        await deleteSchedule(deps, ctx.principal, input.scheduleId);
        return { deleted: true as const };
      }),
  });
}
