import { BlockStatus, type BlockType } from '@platform/contracts';
import {
  DERIVED_TITLE_CHARS,
  LONG_CONTENT_CHARS,
  TYPE_MAP,
  type BlockFlag,
  type BlockRejectReason,
  type CleanBlock,
  type CleanContext,
  type LegacyBlockRow,
} from './clean-types.js';
import { confidenceOf, nonBlank, text } from './clean-values.js';
import { blockIdFor } from './legacy-ids.js';
import { parseLegacyTimestamp, type TimestampFormat } from './timestamps.js';

/*
 * The block rules, one field (or a pair that depend on each other) per function. Each returns the
 * clean value and pushes the flags saying what it did; `cleanBlock` calls them in a fixed order,
 * so a block's `importFlags` always list in the same order.
 */

// Strings that look like script, SQL or Cypher injection. They are stored verbatim (always as
// query parameters, never as query text); the flag only makes them visible in the report.
const HOSTILE = /<\s*\/?\s*script|\bdrop\s+table\b|\bdetach\s+delete\b|\bdelete\s+from\b|['"]\s*\)\s*;|['"]\s*}\s*\)|\bunion\s+select\b/i;

/** First non-empty line of the content, cut at a code point boundary. */
function deriveTitle(content: string): string | null {
  const line = content
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.length > 0);
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

/** The legacy type mapped to a BlockType; unmapped (or missing) types become Knowledge, flagged. */
function typeOf(v: unknown, flags: BlockFlag[]): { type: BlockType; originalType: string; migratedFrom: string | null } {
  const originalType = text(v) ?? '';
  const typeKey = originalType.trim().toLowerCase();
  // Own keys only: a legacy type such as `constructor` must not find Object.prototype's.
  const mapped = Object.hasOwn(TYPE_MAP, typeKey) ? TYPE_MAP[typeKey] : undefined;
  if (!mapped) flags.push(originalType.trim() === '' ? 'type_missing' : 'type_unmapped');
  return { type: mapped ?? 'Knowledge', originalType, migratedFrom: mapped ? null : originalType };
}

function sessionOf(row: LegacyBlockRow, ctx: CleanContext, flags: BlockFlag[]): string {
  const sessionId = nonBlank(row.session_id);
  if (sessionId === null) {
    flags.push('session_defaulted');
    return ctx.defaultSessionId;
  }
  if (!row.session_known) flags.push('session_unknown');
  return sessionId;
}

/** Content verbatim (flagged when empty or long); a missing title comes from the content's first line. */
function textsOf(row: LegacyBlockRow, flags: BlockFlag[]): { title: string; content: string } {
  const content = text(row.content) ?? '';
  if (content.trim() === '') flags.push('content_empty');
  if (content.length > LONG_CONTENT_CHARS) flags.push('content_long');
  let title = nonBlank(row.title);
  if (title === null) {
    title = deriveTitle(content) ?? '(untitled)';
    flags.push('title_derived');
  }
  return { title, content };
}

function statusOf(v: unknown, flags: BlockFlag[]): BlockStatus {
  const statusText = nonBlank(v)?.trim().toLowerCase() ?? null;
  if (statusText === null) {
    flags.push('status_defaulted');
    return 'active';
  }
  const parsed = BlockStatus.safeParse(statusText);
  if (!parsed.success) {
    flags.push('status_unknown');
    return 'active';
  }
  return parsed.data;
}

/** createdAt: its own value, else updated_at, else the session's start, else the snapshot time. */
function createdAtOf(
  row: LegacyBlockRow,
  updatedIso: string | null,
  createdIso: string | null,
  ctx: CleanContext,
  flags: BlockFlag[],
): string {
  if (createdIso !== null) return createdIso;
  if (updatedIso !== null) {
    flags.push('created_at_from_updated_at');
    return updatedIso;
  }
  const session = parseLegacyTimestamp(row.session_created_at).iso;
  if (session !== null) {
    flags.push('created_at_from_session');
    return session;
  }
  flags.push('created_at_from_snapshot');
  return ctx.snapshotTime;
}

/** updatedAt never before createdAt; missing means "never updated". */
function updatedAtOf(updated: { iso: string | null; format: TimestampFormat }, createdAt: string, flags: BlockFlag[]): string {
  if (updated.iso === null) {
    if (updated.format === 'missing') flags.push('updated_at_missing');
    return createdAt;
  }
  if (updated.iso < createdAt) {
    flags.push('updated_at_before_created');
    return createdAt;
  }
  return updated.iso;
}

function timestampsOf(row: LegacyBlockRow, ctx: CleanContext, flags: BlockFlag[]): Pick<CleanBlock, 'createdAt' | 'updatedAt' | 'formats'> {
  const created = parseLegacyTimestamp(row.created_at);
  const updated = parseLegacyTimestamp(row.updated_at);
  if (created.format === 'invalid') flags.push('created_at_invalid');
  if (updated.format === 'invalid') flags.push('updated_at_invalid');
  const createdAt = createdAtOf(row, updated.iso, created.iso, ctx, flags);
  return {
    createdAt,
    updatedAt: updatedAtOf(updated, createdAt, flags),
    formats: { createdAt: created.format, updatedAt: updated.format },
  };
}

export function cleanBlock(
  row: LegacyBlockRow,
  ctx: CleanContext,
): { ok: true; block: CleanBlock } | { ok: false; legacyId: string | null; reason: BlockRejectReason } {
  const legacyId = nonBlank(row.id);
  if (legacyId === null) return { ok: false, legacyId: text(row.id), reason: 'missing_id' };
  const flags: BlockFlag[] = [];
  const { id, derived } = blockIdFor(legacyId);
  const type = typeOf(row.type, flags);
  const sessionId = sessionOf(row, ctx, flags);
  const { title, content } = textsOf(row, flags);
  const props = propertiesOf(row.properties, flags);
  const confidence = confidenceOf(row.confidence, flags, {
    defaulted: 'confidence_defaulted',
    clamped: 'confidence_clamped',
    invalid: 'confidence_invalid',
  });
  const status = statusOf(row.status, flags);
  const { createdAt, updatedAt, formats } = timestampsOf(row, ctx, flags);
  if (HOSTILE.test(title) || HOSTILE.test(content)) flags.push('hostile_looking');
  return {
    ok: true,
    block: {
      id,
      idDerived: derived,
      legacyId,
      ...type,
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
      formats,
    },
  };
}
