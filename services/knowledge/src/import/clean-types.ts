import type { BlockStatus, BlockType, RelationshipType } from '@platform/contracts';
import type { TimestampFormat } from './timestamps.js';

/** The vocabulary of the cleaning rules: legacy rows in, clean records and flags out. */

export const TYPE_MAP: Readonly<Record<string, BlockType>> = {
  content: 'Knowledge',
  synthesis: 'Knowledge',
  pattern: 'Knowledge',
  insight: 'Knowledge',
  fact: 'Knowledge',
  decision: 'Decision',
  option: 'Decision',
  assumption: 'Assumption',
  action: 'Task',
  task: 'Task',
  external: 'Evidence',
  evidence: 'Evidence',
  proposal: 'Proposal',
  question: 'Question',
  risk: 'Risk',
  requirement: 'Requirement',
  constraint: 'Requirement',
};

/** Content longer than the API accepts on create; kept verbatim but flagged. */
export const LONG_CONTENT_CHARS = 100_000;
export const DERIVED_TITLE_CHARS = 120;
export const DEFAULT_CONFIDENCE = 0.5;
export const IMPORTED_BY = 'legacy-import';

export type BlockFlag =
  | 'type_unmapped'
  | 'type_missing'
  | 'session_defaulted'
  | 'session_unknown'
  | 'title_derived'
  | 'content_empty'
  | 'content_long'
  | 'properties_malformed'
  | 'properties_not_object'
  | 'confidence_defaulted'
  | 'confidence_clamped'
  | 'confidence_invalid'
  | 'status_defaulted'
  | 'status_unknown'
  | 'created_at_invalid'
  | 'created_at_from_updated_at'
  | 'created_at_from_session'
  | 'created_at_from_snapshot'
  | 'updated_at_missing'
  | 'updated_at_invalid'
  | 'updated_at_before_created'
  | 'hostile_looking';

export type LinkFlag =
  'confidence_defaulted' | 'confidence_clamped' | 'confidence_invalid' | 'type_normalized' | 'created_at_missing' | 'created_at_invalid';

export type BlockRejectReason = 'missing_id';
export type LinkRejectReason =
  'missing_endpoint_id' | 'self_link' | 'unknown_link_type' | 'dangling_source' | 'dangling_target' | 'endpoint_rejected';

/** A memory_blocks row joined with its session (columns as SQLite returns them). */
export interface LegacyBlockRow {
  id: unknown;
  session_id: unknown;
  idea_id: unknown;
  type: unknown;
  title: unknown;
  content: unknown;
  properties: unknown;
  status: unknown;
  confidence: unknown;
  abstraction_level: unknown;
  extracted_from_message_id: unknown;
  created_at: unknown;
  updated_at: unknown;
  session_created_at: unknown;
  session_known: unknown;
}

export interface LegacyLinkRow {
  id: unknown;
  session_id: unknown;
  source_block_id: unknown;
  target_block_id: unknown;
  link_type: unknown;
  degree: unknown;
  confidence: unknown;
  reason: unknown;
  status: unknown;
  created_at: unknown;
  source_exists: unknown;
  target_exists: unknown;
}

export interface CleanContext {
  /** Session for blocks that have none. */
  defaultSessionId: string;
  /** Last-resort timestamp (the source file's modification time): deterministic across runs. */
  snapshotTime: string;
}

export interface CleanBlock {
  id: string;
  idDerived: boolean;
  legacyId: string;
  type: BlockType;
  originalType: string;
  migratedFrom: string | null;
  sessionId: string;
  ideaId: string | null;
  title: string;
  content: string;
  status: BlockStatus;
  confidence: number;
  /** JSON object text; `{}` when the legacy value was missing or unusable. */
  properties: string;
  /** The legacy properties text when it was not a JSON object, kept verbatim. */
  propertiesRaw: string | null;
  abstractionLevel: string | null;
  extractedFromMessageId: string | null;
  createdAt: string;
  updatedAt: string;
  validFrom: string;
  validTo: string | null;
  importFlags: BlockFlag[];
  formats: { createdAt: TimestampFormat; updatedAt: TimestampFormat };
}

/** Link cleaning also needs to know which blocks were rejected. */
export interface LinkContext extends CleanContext {
  isRejectedBlock: (legacyId: string) => boolean;
}

export interface CleanLink {
  legacyId: string | null;
  sourceId: string;
  targetId: string;
  sourceLegacyId: string;
  targetLegacyId: string;
  type: RelationshipType;
  originalType: string;
  confidence: number;
  reason: string | null;
  degree: string | null;
  legacyStatus: string | null;
  createdAt: string;
  importFlags: LinkFlag[];
}
