import { z } from 'zod';

/** Allow-list of block labels: a Neo4j label never comes from raw input, only from this enum. */
export const BlockType = z.enum(['Knowledge', 'Decision', 'Assumption', 'Task', 'Evidence', 'Proposal', 'Question', 'Risk', 'Requirement']);
export type BlockType = z.infer<typeof BlockType>;

export const BlockStatus = z.enum(['active', 'draft', 'validated', 'superseded', 'archived']);
export type BlockStatus = z.infer<typeof BlockStatus>;

/** Statuses a caller may set directly; `superseded` and `archived` only come from their own operations. */
export const EditableBlockStatus = z.enum(['active', 'draft', 'validated']);
export type EditableBlockStatus = z.infer<typeof EditableBlockStatus>;

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

/** Which relationships of a block to follow: outgoing, incoming or both. */
export const LinkDirection = z.enum(['out', 'in', 'both']);
export type LinkDirection = z.infer<typeof LinkDirection>;

export const Confidence = z.number().min(0).max(1);

/** Status of one step of a run (a run is a tree of steps, recorded by knowledge). */
export const RunStepStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']);
export type RunStepStatus = z.infer<typeof RunStepStatus>;

/**
 * What a recorded step change did; replaying them in order rebuilds a run at any moment. `removed`:
 * the step left the run (a recorded task moved to another tree takes its subtree along, one
 * `removed` each, and is `added` to the run it joins).
 */
export const RunStepChangeKind = z.enum(['added', 'status', 'output', 'moved', 'removed']);
export type RunStepChangeKind = z.infer<typeof RunStepChangeKind>;
