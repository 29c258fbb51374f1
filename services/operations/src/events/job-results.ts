import type { Logger, NatsConnection, RunningConsumer, StreamLimits, StreamReplicas } from '@platform/kit';
import { onJobSucceeded, type JobResultDeps } from '../domain/job-results.js';
import { consumeCoordinationEvents } from './coordination-consumer.js';
import { DURABLES } from '@platform/contracts';

/** Marks tasks done when their jobs succeed (`coordination.job.succeeded`). */
export function startJobResultsConsumer(
  nc: NatsConnection,
  deps: JobResultDeps,
  log: Logger,
  deadLetterLimits?: StreamLimits,
  replicas?: StreamReplicas,
): Promise<RunningConsumer> {
  return consumeCoordinationEvents({
    nc,
    durable: DURABLES.operationsJobResults,
    subjects: ['coordination.job.succeeded'],
    log,
    ...(deadLetterLimits ? { deadLetterLimits } : {}),
    ...(replicas ? { replicas } : {}),
    handler: async (event) => {
      const outcome = await onJobSucceeded(deps, event);
      log.info({ eventId: event.id, jobId: event.data.jobId, taskId: event.data.targetId, outcome }, 'job result handled');
    },
  });
}
