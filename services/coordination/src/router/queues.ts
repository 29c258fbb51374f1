import { openApiMeta } from '@platform/kit';
import { JobPriority, JobType } from '@platform/contracts';
import { z } from 'zod';
import type { CoordinationDeps } from '../domain/deps.js';
import { authedProcedure, router } from '../trpc.js';

const meta = openApiMeta('queues');

const QueueDepth = z.object({
  jobType: JobType,
  priority: JobPriority,
  queued: z.number().int().min(0),
  delivered: z.number().int().min(0),
});

export function queuesRouter(deps: Pick<CoordinationDeps, 'queueDepths' | 'clock'>) {
  return router({
    depths: authedProcedure
      .meta(
        meta(
          'GET',
          '/queues/depths',
          'Every job queue (type × priority) with how many jobs wait in it and how many are delivered but not yet running; counts only',
        ),
      )
      .input(z.strictObject({}).prefault({}))
      .output(z.object({ queues: z.array(QueueDepth), at: z.string() }))
      .query(async () => ({ queues: await deps.queueDepths(), at: deps.clock().toISOString() })),
  });
}
