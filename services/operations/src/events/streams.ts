import { DEFAULT_EVENT_STREAM_LIMITS, ensureStream, limitsRetention, type NatsConnection, type StreamLimits } from '@platform/kit';

/** The stream holding this service's events. */
export const OPERATIONS_STREAM = 'OPERATIONS_EVENTS';
/** Coordination owns this stream; operations only attaches a durable consumer to it. */
export const COORDINATION_STREAM = 'COORDINATION_EVENTS';

/** Creates the stream, or brings an existing one to `limits` (EVENT_STREAM_MAX_AGE_S / _MAX_BYTES). */
export function ensureOperationsStream(nc: NatsConnection, limits: StreamLimits = DEFAULT_EVENT_STREAM_LIMITS) {
  return ensureStream(nc, { name: OPERATIONS_STREAM, subjects: ['operations.>'], ...limitsRetention(limits) });
}
