import {
  DEFAULT_EVENT_STREAM_LIMITS,
  ensureStream,
  limitsRetention,
  SINGLE_REPLICA,
  type NatsConnection,
  type StreamLimits,
  type StreamReplicas,
} from '@platform/kit';
import { EVENT_STREAMS } from '@platform/contracts';

/** Creates the stream, or brings an existing one to `limits` (EVENT_STREAM_MAX_AGE_S / _MAX_BYTES) and `replicas` (NATS_STREAM_REPLICAS). */
export function ensureKnowledgeStream(
  nc: NatsConnection,
  limits: StreamLimits = DEFAULT_EVENT_STREAM_LIMITS,
  replicas: StreamReplicas = SINGLE_REPLICA,
) {
  return ensureStream(nc, {
    name: EVENT_STREAMS.knowledge,
    subjects: ['knowledge.>'],
    ...limitsRetention(limits),
    num_replicas: replicas(EVENT_STREAMS.knowledge),
  });
}
