import type { EventData, EventSubject, TypedEnvelope } from '@platform/contracts';
import { randomUUID } from 'node:crypto';
import { currentTraceId, traceHeaders } from './telemetry.js';

export type Clock = () => Date;
export type IdGenerator = () => string;
export const systemClock: Clock = () => new Date();
export const uuid: IdGenerator = () => randomUUID();

/** Builds an envelope for a subject; the active trace id becomes the correlation id. */
export function createEnvelope<S extends EventSubject>(
  source: string,
  subject: S,
  data: EventData<S>,
  opts: { clock?: Clock; newId?: IdGenerator; causationId?: string } = {},
): TypedEnvelope<S> {
  const traceId = currentTraceId();
  const { traceparent } = traceHeaders();
  return {
    id: (opts.newId ?? uuid)(),
    subject,
    occurredAt: (opts.clock ?? systemClock)().toISOString(),
    source,
    ...(traceId ? { correlationId: traceId } : {}),
    ...(opts.causationId ? { causationId: opts.causationId } : {}),
    ...(traceparent ? { traceparent } : {}),
    data,
  };
}
