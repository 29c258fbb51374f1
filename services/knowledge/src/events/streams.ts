import { DEFAULT_EVENT_STREAM_LIMITS, ensureStream, limitsRetention, type NatsConnection, type StreamLimits } from '@platform/kit';

/** The stream holding this service's events; other services consume from it. */
export const KNOWLEDGE_STREAM = 'KNOWLEDGE_EVENTS';

/** Creates the stream, or brings an existing one to `limits` (EVENT_STREAM_MAX_AGE_S / _MAX_BYTES). */
export function ensureKnowledgeStream(nc: NatsConnection, limits: StreamLimits = DEFAULT_EVENT_STREAM_LIMITS) {
  return ensureStream(nc, { name: KNOWLEDGE_STREAM, subjects: ['knowledge.>'], ...limitsRetention(limits) });
}
