import { DURABLES, EVENT_STREAMS, type TypedEnvelope } from '@platform/contracts';
import {
  consumeEvents,
  startInBackground,
  type Logger,
  type NatsConnection,
  type RunningConsumer,
  type StreamLimits,
  type StreamReplicas,
} from '@platform/kit';
import { Neo4jError } from 'neo4j-driver';
import { planFor, RECORDED_COORDINATION_SUBJECTS, RECORDED_OPERATIONS_SUBJECTS, type RecordedSubject } from '../domain/recorded-runs.js';
import { recordPlan, type RecordDeps } from '../store/recorded-runs.js';

/** Durable consumer names (shared/contracts/src/nats-permissions.ts grants knowledge exactly these on the two streams). */
export const RUN_RECORDER_DURABLES = {
  operations: { stream: EVENT_STREAMS.operations, durable: DURABLES.knowledgeRunsOperations },
  coordination: { stream: EVENT_STREAMS.coordination, durable: DURABLES.knowledgeRunsCoordination },
} as const;

export interface RunRecorder {
  stop(): Promise<void>;
}

/** Records one event (also the entry point of tests that deliver events in their own order). */
export async function recordEvent(deps: RecordDeps, event: TypedEnvelope<RecordedSubject>): Promise<number> {
  return recordPlan(deps, planFor(event));
}

/**
 * Records an event, again at once when its transaction lost a race to create a node another
 * transaction (a concurrent event here or on another replica) created first: the retry finds the
 * node and goes on from it. Anything else, or a fourth loss, fails the delivery (redelivered later).
 */
export async function recordRetryingRaces(deps: RecordDeps, event: TypedEnvelope<RecordedSubject>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await recordEvent(deps, event);
    } catch (err) {
      if (attempt >= 4 || !(err instanceof Neo4jError && err.code === 'Neo.ClientError.Schema.ConstraintValidationFailed')) throw err;
    }
  }
}

/**
 * The node an event names first (its top-most: nodes come parents first): events sharing it are
 * recorded one after another, so the events of one saga, task tree or job do not race to create
 * or change the same nodes. Events of different runs are recorded at once; should two still meet
 * (a task moved into another tree), the step locks and a redelivery settle it, as across replicas.
 */
export function recordingKey(event: TypedEnvelope<RecordedSubject>): string {
  return planFor(event).nodes[0]?.stepId ?? event.id;
}

/**
 * Records the platform's sagas, tasks and jobs as runs: durable consumers on operations' and
 * coordination's event streams (consumeEvents: validated envelopes, source checked against the
 * stream's owner, retried with delay, dead-lettered after the last delivery). Each stream is owned
 * and created by its service, so each consumer waits for its stream in the background, with backoff:
 * the services start in any order. Redelivery is harmless (recordPlan is idempotent).
 */
export function startRunRecorder(
  nc: NatsConnection,
  deps: RecordDeps,
  log: Logger,
  deadLetterLimits?: StreamLimits,
  replicas?: StreamReplicas,
  concurrency = 1,
): RunRecorder {
  const handler = async (event: TypedEnvelope<RecordedSubject>) => {
    // The outbox rows of a recorded change reach the relay by themselves (writeTx rings graph.outboxWritten).
    const changes = await recordRetryingRaces(deps, event);
    log.debug({ eventId: event.id, subject: event.subject, changes }, 'run recorded');
  };
  const start = (name: keyof typeof RUN_RECORDER_DURABLES, subjects: readonly RecordedSubject[]) =>
    startInBackground<RunningConsumer>({
      name: `run recorder (${name})`,
      log,
      maxDelayMs: 10_000,
      start: () =>
        consumeEvents({
          nc,
          ...RUN_RECORDER_DURABLES[name],
          subjects,
          log,
          handler,
          concurrency,
          keyOf: recordingKey,
          ...(deadLetterLimits ? { deadLetterLimits } : {}),
          ...(replicas ? { replicas } : {}),
        }),
    });
  const consumers = [start('operations', RECORDED_OPERATIONS_SUBJECTS), start('coordination', RECORDED_COORDINATION_SUBJECTS)];
  return {
    async stop() {
      for (const c of consumers) {
        c.stop();
        await c.current()?.stop();
      }
    },
  };
}
