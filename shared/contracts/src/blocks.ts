import { z } from 'zod';

/** Allow-list of block labels: a Neo4j label never comes from raw input, only from this enum. */
export const BlockType = z.enum([
  'Knowledge',
  'Decision',
  'Assumption',
  'Task',
  'Evidence',
  'Proposal',
  'Question',
  'Risk',
  'Requirement',
]);
export type BlockType = z.infer<typeof BlockType>;

export const BlockStatus = z.enum(['active', 'draft', 'validated', 'superseded', 'archived']);
export type BlockStatus = z.infer<typeof BlockStatus>;

/** Allow-list of relationship types between blocks. */
export const RelationshipType = z.enum([
  'SUPPORTS',
  'CONTRADICTS',
  'DEPENDS_ON',
  'DERIVED_FROM',
  'ADDRESSES',
  'REQUIRES',
  'REPLACES',
  'VALIDATES',
  'RELATES_TO',
  'PART_OF',
  'BLOCKS',
]);
export type RelationshipType = z.infer<typeof RelationshipType>;

export const Confidence = z.number().min(0).max(1);
