import { ensureEventStream, type NatsConnection, type StreamLimits, type StreamReplicas } from '@platform/kit';

/** Creates this service's event stream, or brings an existing one to `limits` and `replicas` (the kit's ensureEventStream). */
export const ensureOperationsStream = (nc: NatsConnection, limits?: StreamLimits, replicas?: StreamReplicas) =>
  ensureEventStream(nc, 'operations', limits, replicas);
