import { BlockStatus, RelationshipType, type BlockType } from '@platform/contracts';
import { blockIdFor } from './legacy-ids.js';
import { parseLegacyTimestamp, type TimestampFormat } from './timestamps.js';

/*
 * The cleaning rules of the legacy import, as pure functions: one legacy row in, one clean
 * block or link (with the flags saying what was done) or a reject reason out. The importer,
 * the validation's spot check and the tests all use these, so they cannot disagree.
 */

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

// Strings that look like script, SQL or Cypher injection. They are stored verbatim (always as
// query parameters, never as query text); the flag only makes them visible in the report.
const HOSTILE = /<\s*\/?\s*script|\bdrop\s+table\b|\bdetach\s+delete\b|\bdelete\s+from\b|['"]\s*\)\s*;|['"]\s*}\s*\)|\bunion\s+select\b/i;

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

export type LinkFlag = 'confidence_defaulted' | 'confidence_clamped' | 'confidence_invalid' | 'type_normalized' | 'created_at_missing' | 'created_at_invalid';

export type BlockRejectReason = 'missing_id';
export type LinkRejectReason = 'missing_endpoint_id' | 'self_link' | 'unknown_link_type' | 'dangling_source' | 'dangling_target' | 'endpoint_rejected';

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

/** SQLite's dynamic typing: a "TEXT" column may hold a number or a blob. */
export function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return String(v);
}

const nonBlank = (v: unknown): string | null => {
  const s = text(v);
  return s !== null && s.trim() !== '' ? s : null;
};

function confidenceOf<F extends string>(v: unknown, flags: F[], names: { defaulted: F; clamped: F; invalid: F }): number {
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) {
    flags.push(names.defaulted);
    return DEFAULT_CONFIDENCE;
  }
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(text(v));
  if (!Number.isFinite(n)) {
    flags.push(names.invalid);
    return DEFAULT_CONFIDENCE;
  }
  if (n < 0 || n > 1) {
    flags.push(names.clamped);
    return Math.min(1, Math.max(0, n));
  }
  return n;
}

/** First non-empty line of the content, cut at a code point boundary. */
function deriveTitle(content: string): string | null {
  const line = content.split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0);
  if (!line) return null;
  const chars = [...line];
  return chars.length > DERIVED_TITLE_CHARS ? `${chars.slice(0, DERIVED_TITLE_CHARS - 1).join('')}…` : line;
}

function propertiesOf(v: unknown, flags: BlockFlag[]): { properties: string; propertiesRaw: string | null } {
  const raw = text(v);
  if (raw === null || raw.trim() === '') return { properties: '{}', propertiesRaw: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    flags.push('properties_malformed');
    return { properties: '{}', propertiesRaw: raw };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    flags.push('properties_not_object');
    return { properties: '{}', propertiesRaw: raw };
  }
  return { properties: JSON.stringify(parsed), propertiesRaw: null };
}

export function cleanBlock(row: LegacyBlockRow, ctx: CleanContext): { ok: true; block: CleanBlock } | { ok: false; legacyId: string | null; reason: BlockRejectReason } {
  const legacyId = nonBlank(row.id);
  if (legacyId === null) return { ok: false, legacyId: text(row.id), reason: 'missing_id' };
  const flags: BlockFlag[] = [];
  const { id, derived } = blockIdFor(legacyId);

  const originalType = text(row.type) ?? '';
  const typeKey = originalType.trim().toLowerCase();
  // Own keys only: a legacy type such as `constructor` must not find Object.prototype's.
  const mapped = Object.hasOwn(TYPE_MAP, typeKey) ? TYPE_MAP[typeKey] : undefined;
  if (!mapped) flags.push(originalType.trim() === '' ? 'type_missing' : 'type_unmapped');

  let sessionId = nonBlank(row.session_id);
  if (sessionId === null) {
    sessionId = ctx.defaultSessionId;
    flags.push('session_defaulted');
  } else if (!row.session_known) {
    flags.push('session_unknown');
  }

  const content = text(row.content) ?? '';
  if (content.trim() === '') flags.push('content_empty');
  if (content.length > LONG_CONTENT_CHARS) flags.push('content_long');

  let title = nonBlank(row.title);
  if (title === null) {
    title = deriveTitle(content) ?? '(untitled)';
    flags.push('title_derived');
  }

  const props = propertiesOf(row.properties, flags);
  const confidence = confidenceOf(row.confidence, flags, { defaulted: 'confidence_defaulted', clamped: 'confidence_clamped', invalid: 'confidence_invalid' });

  const statusText = nonBlank(row.status)?.trim().toLowerCase() ?? null;
  const parsedStatus = statusText === null ? null : BlockStatus.safeParse(statusText);
  let status: BlockStatus = 'active';
  if (parsedStatus === null) flags.push('status_defaulted');
  else if (!parsedStatus.success) flags.push('status_unknown');
  else status = parsedStatus.data;

  // createdAt: its own value, else updated_at, else the session's start, else the snapshot time.
  const created = parseLegacyTimestamp(row.created_at);
  const updated = parseLegacyTimestamp(row.updated_at);
  if (created.format === 'invalid') flags.push('created_at_invalid');
  if (updated.format === 'invalid') flags.push('updated_at_invalid');
  let createdAt = created.iso;
  if (createdAt === null && updated.iso !== null) {
    createdAt = updated.iso;
    flags.push('created_at_from_updated_at');
  }
  if (createdAt === null) {
    createdAt = parseLegacyTimestamp(row.session_created_at).iso;
    if (createdAt !== null) flags.push('created_at_from_session');
  }
  if (createdAt === null) {
    createdAt = ctx.snapshotTime;
    flags.push('created_at_from_snapshot');
  }
  let updatedAt = updated.iso;
  if (updatedAt === null) {
    updatedAt = createdAt;
    if (updated.format === 'missing') flags.push('updated_at_missing');
  } else if (updatedAt < createdAt) {
    updatedAt = createdAt;
    flags.push('updated_at_before_created');
  }

  if (HOSTILE.test(title) || HOSTILE.test(content)) flags.push('hostile_looking');

  return {
    ok: true,
    block: {
      id,
      idDerived: derived,
      legacyId,
      type: mapped ?? 'Knowledge',
      originalType,
      migratedFrom: mapped ? null : originalType,
      sessionId,
      ideaId: nonBlank(row.idea_id),
      title,
      content,
      status,
      confidence,
      ...props,
      abstractionLevel: nonBlank(row.abstraction_level),
      extractedFromMessageId: nonBlank(row.extracted_from_message_id),
      createdAt,
      updatedAt,
      validFrom: createdAt,
      // Superseded and archived legacy blocks stopped holding when they were last updated.
      validTo: status === 'superseded' || status === 'archived' ? updatedAt : null,
      importFlags: flags,
      formats: { createdAt: created.format, updatedAt: updated.format },
    },
  };
}

/** Legacy link types in any case and with spaces or dashes: `Supports`, `depends-on`, `part of`. */
export function normalizeLinkType(v: unknown): { type: RelationshipType | null; original: string; normalized: boolean } {
  const original = text(v) ?? '';
  const parsed = RelationshipType.safeParse(original.trim().replace(/[\s-]+/g, '_').toUpperCase());
  // The legacy writer's own form is lower_snake_case; anything else was normalized.
  return { type: parsed.success ? parsed.data : null, original, normalized: parsed.success && original !== parsed.data.toLowerCase() };
}

export function cleanLink(
  row: LegacyLinkRow,
  ctx: CleanContext & { isRejectedBlock: (legacyId: string) => boolean },
): { ok: true; link: CleanLink } | { ok: false; reason: LinkRejectReason } {
  const source = nonBlank(row.source_block_id);
  const target = nonBlank(row.target_block_id);
  if (source === null || target === null) return { ok: false, reason: 'missing_endpoint_id' };
  if (source === target) return { ok: false, reason: 'self_link' };
  const t = normalizeLinkType(row.link_type);
  if (!t.type) return { ok: false, reason: 'unknown_link_type' };
  if (!row.source_exists) return { ok: false, reason: 'dangling_source' };
  if (!row.target_exists) return { ok: false, reason: 'dangling_target' };
  if (ctx.isRejectedBlock(source) || ctx.isRejectedBlock(target)) return { ok: false, reason: 'endpoint_rejected' };

  const flags: LinkFlag[] = [];
  if (t.normalized) flags.push('type_normalized');
  const confidence = confidenceOf(row.confidence, flags, { defaulted: 'confidence_defaulted', clamped: 'confidence_clamped', invalid: 'confidence_invalid' });
  const created = parseLegacyTimestamp(row.created_at);
  if (created.format === 'missing') flags.push('created_at_missing');
  if (created.format === 'invalid') flags.push('created_at_invalid');
  return {
    ok: true,
    link: {
      legacyId: nonBlank(row.id),
      sourceId: blockIdFor(source).id,
      targetId: blockIdFor(target).id,
      sourceLegacyId: source,
      targetLegacyId: target,
      type: t.type,
      originalType: t.original,
      confidence,
      reason: nonBlank(row.reason),
      degree: nonBlank(row.degree),
      legacyStatus: nonBlank(row.status),
      createdAt: created.iso ?? ctx.snapshotTime,
      importFlags: flags,
    },
  };
}
