import { z } from 'zod';
import { BlockStatus, BlockType } from '../blocks.js';
import { BlockId, PrincipalId } from '../ids.js';

export const BlockCreated = z.object({
  blockId: BlockId,
  type: BlockType,
  sessionId: z.string(),
  title: z.string(),
  status: BlockStatus,
  createdBy: PrincipalId.optional(),
});

/** Subjects the knowledge service publishes (stream KNOWLEDGE_EVENTS, `knowledge.>`). */
export const knowledgeEvents = {
  'knowledge.block.created': BlockCreated,
} as const;
