import { ensureStream, type NatsConnection } from '@platform/kit';

/** The stream holding this service's events; other services consume from it. */
export const KNOWLEDGE_STREAM = 'KNOWLEDGE_EVENTS';

export function ensureKnowledgeStream(nc: NatsConnection): Promise<void> {
  return ensureStream(nc, { name: KNOWLEDGE_STREAM, subjects: ['knowledge.>'] });
}
