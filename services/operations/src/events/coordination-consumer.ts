import type { EventSubject } from '@platform/contracts';
import { consumeEvents, type ConsumeOptions, type RunningConsumer } from '@platform/kit';
import pRetry from 'p-retry';
import { EVENT_STREAMS } from '@platform/contracts';

/**
 * A durable consumer of coordination's events. Coordination creates its stream, so this waits
 * for it with backoff (about five minutes at most): the services can start in any order.
 */
export function consumeCoordinationEvents<S extends EventSubject>(opts: Omit<ConsumeOptions<S>, 'stream'>): Promise<RunningConsumer> {
  return pRetry(() => consumeEvents({ ...opts, stream: EVENT_STREAMS.coordination }), {
    retries: 60,
    minTimeout: 500,
    maxTimeout: 5_000,
    onFailedAttempt: ({ error }) =>
      opts.log.warn({ consumer: opts.durable, err: error.message }, 'consumer not ready (coordination stream missing?); retrying'),
  });
}
