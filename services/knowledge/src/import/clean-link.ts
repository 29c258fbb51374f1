import { RelationshipType } from '@platform/contracts';
import type { CleanLink, LinkContext, LinkFlag, LinkRejectReason, LegacyLinkRow } from './clean-types.js';
import { confidenceOf, nonBlank, text } from './clean-values.js';
import { blockIdFor } from './legacy-ids.js';
import { parseLegacyTimestamp } from './timestamps.js';

/** Legacy link types in any case and with spaces or dashes: `Supports`, `depends-on`, `part of`. */
export function normalizeLinkType(v: unknown): { type: RelationshipType | null; original: string; normalized: boolean } {
  const original = text(v) ?? '';
  const parsed = RelationshipType.safeParse(
    original
      .trim()
      .replace(/[\s-]+/g, '_')
      .toUpperCase(),
  );
  // The legacy writer's own form is lower_snake_case; anything else was normalized.
  return { type: parsed.success ? parsed.data : null, original, normalized: parsed.success && original !== parsed.data.toLowerCase() };
}

export function cleanLink(row: LegacyLinkRow, ctx: LinkContext): { ok: true; link: CleanLink } | { ok: false; reason: LinkRejectReason } {
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
  const confidence = confidenceOf(row.confidence, flags, {
    defaulted: 'confidence_defaulted',
    clamped: 'confidence_clamped',
    invalid: 'confidence_invalid',
  });
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
