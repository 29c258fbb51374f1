import { consumeEvents, type Logger, type NatsConnection, type RunningConsumer } from '@platform/kit';
import pRetry from 'p-retry';
import { JOB_RESULTS_CONSUMER, onJobSucceeded, type JobResultDeps } from '../domain/job-results.js';
import { COORDINATION_STREAM } from './streams.js';

/**
 * Marks tasks done when their jobs succeed. Waits (with backoff) for coordination to have created
 * its stream, so the services can start in any order.
 */
export function startJobResultsConsumer(nc: NatsConnection, deps: JobResultDeps, log: Logger): Promise<RunningConsumer> {
  return pRetry(
    () =>
      consumeEvents({
        nc,
        stream: COORDINATION_STREAM,
        durable: JOB_RESULTS_CONSUMER,
        subjects: ['coordination.job.succeeded'],
        log,
        handler: async (event) => {
          const outcome = await onJobSucceeded(deps, event);
          log.info({ eventId: event.id, jobId: event.data.jobId, taskId: event.data.targetId, outcome }, 'job result handled');
        },
      }),
    {
      retries: 60,
      minTimeout: 500,
      maxTimeout: 5_000,
      onFailedAttempt: ({ error }) => log.warn({ err: error.message }, 'job results consumer not ready; retrying'),
    },
  );
}
