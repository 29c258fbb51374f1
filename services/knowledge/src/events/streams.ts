import { DEFAULT_EVENT_STREAM_LIMITS, ensureStream, limitsRetention, type NatsConnection, type StreamLimits } from '@platform/kit';
import { EVENT_STREAMS } from '@platform/contracts';


/** Creates the stream, or brings an existing one to `limits` (EVENT_STREAM_MAX_AGE_S / _MAX_BYTES). */
export function ensureKnowledgeStream(nc: NatsConnection, limits: StreamLimits = DEFAULT_EVENT_STREAM_LIMITS) {
  return ensureStream(nc, { name: EVENT_STREAMS.knowledge, subjects: ['knowledge.>'], ...limitsRetention(limits) });
}
