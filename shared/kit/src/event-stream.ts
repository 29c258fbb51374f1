import { EVENT_STREAMS, type ServiceName } from '@platform/contracts';
import { ensureStream, type NatsConnection } from './nats.js';
import { SINGLE_REPLICA, type StreamReplicas } from './replicas.js';
import { DEFAULT_EVENT_STREAM_LIMITS, limitsRetention, type StreamLimits } from './retention.js';

/**
 * Creates a service's event stream (`<service>.>`), or brings an existing one to `limits`
 * (EVENT_STREAM_MAX_AGE_S / _MAX_BYTES) and `replicas` (NATS_STREAM_REPLICAS).
 */
export function ensureEventStream(
  nc: NatsConnection,
  service: ServiceName,
  limits: StreamLimits = DEFAULT_EVENT_STREAM_LIMITS,
  replicas: StreamReplicas = SINGLE_REPLICA,
) {
  const name = EVENT_STREAMS[service];
  return ensureStream(nc, { name, subjects: [`${service}.>`], ...limitsRetention(limits), num_replicas: replicas(name) });
}
