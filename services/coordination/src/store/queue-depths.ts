import { JobPriority, JOBS_STREAM, JobType } from '@platform/contracts';

import type { JetStreamClient } from '@platform/kit';
import { jobConsumer } from '@platform/contracts';

/** One work queue (a job type at a priority) and how much is waiting in it. */
export interface QueueDepth {
  jobType: JobType;
  priority: JobPriority;
  /** Work items not yet handed to any agent (the consumer's num_pending; the platform_job_queue_depth gauge). */
  queued: number;
  /** Items delivered but not yet taken as running: claims in flight and retries waiting out their backoff (num_ack_pending). */
  delivered: number;
}

/**
 * Every work queue's depth, read from the JOBS stream's consumers (one per job type and priority):
 * counts only, no job ids or owners, so any signed-in caller may see how busy the queues are, as
 * they may see the agent registry. A queue whose consumer does not exist yet counts as empty.
 */
export async function queueDepths(js: JetStreamClient): Promise<QueueDepth[]> {
  const jsm = await js.jetstreamManager();
  const queues = JobType.options.flatMap((jobType) => JobPriority.options.map((priority) => ({ jobType, priority })));
  return Promise.all(
    queues.map(async ({ jobType, priority }) => {
      try {
        const info = await jsm.consumers.info(JOBS_STREAM, jobConsumer(jobType, priority));
        return { jobType, priority, queued: info.num_pending, delivered: info.num_ack_pending };
      } catch (err) {
        if (isConsumerNotFound(err)) return { jobType, priority, queued: 0, delivered: 0 };
        throw err;
      }
    }),
  );
}

/** JetStream's "consumer not found" (API error 10014): the queue was never set up, so nothing is in it. */
function isConsumerNotFound(err: unknown): boolean {
  const api = (err as { api_error?: { err_code?: number } } | undefined)?.api_error;
  return api?.err_code === 10014 || (err instanceof Error && /consumer not found/i.test(err.message));
}
