import { z } from 'zod';
import { BlockStatus, BlockType, RelationshipType, RunStepChangeKind, RunStepStatus } from '../blocks.js';
import { BlockId, PrincipalId, Uuid } from '../ids.js';
import { PrincipalKind } from '../principal.js';

export const BlockCreated = z.object({
  blockId: BlockId,
  type: BlockType,
  sessionId: z.string(),
  title: z.string(),
  status: BlockStatus,
  createdBy: PrincipalId.optional(),
  /** The block's owner and team (optional: events written before ownership carry neither). */
  ownerKind: PrincipalKind.optional(),
  ownerId: PrincipalId.optional(),
  teamId: z.string().min(1).max(200).nullable().optional(),
});

export const BlockUpdated = z.object({
  blockId: BlockId,
  type: BlockType,
  version: z.number().int().min(1),
  /** Names of the fields the update changed (values are read from the service, not the event). */
  changed: z.array(z.string()),
  status: BlockStatus,
  updatedBy: PrincipalId,
});

export const BlockSuperseded = z.object({
  blockId: BlockId,
  replacedBy: BlockId,
  sessionId: z.string(),
  validTo: z.string(),
  supersededBy: PrincipalId,
});

export const BlockArchived = z.object({
  blockId: BlockId,
  version: z.number().int().min(1),
  archivedBy: PrincipalId,
});

export const LinkChanged = z.object({
  sourceId: BlockId,
  targetId: BlockId,
  type: RelationshipType,
  by: PrincipalId,
});

export const RunStepChanged = z.object({
  runId: Uuid,
  stepId: Uuid,
  /** Position of the change in its run's history (1, 2, …): consumers can order and detect gaps. */
  seq: z.number().int().min(1),
  change: RunStepChangeKind,
  parentId: Uuid.nullable(),
  status: RunStepStatus,
  previousStatus: RunStepStatus.nullable(),
  by: PrincipalId,
});

/** Subjects the knowledge service publishes (stream KNOWLEDGE_EVENTS, `knowledge.>`). */
export const knowledgeEvents = {
  'knowledge.block.created': BlockCreated,
  'knowledge.block.updated': BlockUpdated,
  'knowledge.block.superseded': BlockSuperseded,
  'knowledge.block.archived': BlockArchived,
  'knowledge.link.created': LinkChanged,
  'knowledge.link.removed': LinkChanged,
  'knowledge.run.step.changed': RunStepChanged,
} as const;
