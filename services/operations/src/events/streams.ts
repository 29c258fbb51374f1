import { ensureStream, type NatsConnection } from '@platform/kit';

/** The stream holding this service's events. */
export const OPERATIONS_STREAM = 'OPERATIONS_EVENTS';
/** Coordination owns this stream; operations only attaches a durable consumer to it. */
export const COORDINATION_STREAM = 'COORDINATION_EVENTS';

export function ensureOperationsStream(nc: NatsConnection): Promise<void> {
  return ensureStream(nc, { name: OPERATIONS_STREAM, subjects: ['operations.>'] });
}
