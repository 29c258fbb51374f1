import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanBlock, cleanLink, normalizeLinkType, type LegacyBlockRow, type LegacyLinkRow } from './clean.js';
import { blockIdFor, uuidV5 } from './legacy-ids.js';

const ctx = { defaultSessionId: 'legacy-default', snapshotTime: '2026-01-01T00:00:00.000Z' };
const row = (over: Partial<LegacyBlockRow> = {}): LegacyBlockRow => ({
  id: '04a65651-cdbd-e747-58d5-0f1b4540f426',
  session_id: 's1',
  idea_id: 'idea-1',
  type: 'synthesis',
  title: 'A title',
  content: 'Some content',
  properties: '{"tags": ["a"], "source": "agent"}',
  status: 'draft',
  confidence: 0.4,
  abstraction_level: 'vision',
  extracted_from_message_id: null,
  created_at: '2025-03-20T00:00:00.000Z',
  updated_at: '2025-03-21 01:43:27',
  session_created_at: '2024-01-01 00:00:00',
  session_known: 1,
  ...over,
});
const clean = (over: Partial<LegacyBlockRow> = {}) => {
  const r = cleanBlock(row(over), ctx);
  if (!r.ok) throw new Error(r.reason);
  return r.block;
};

describe('legacy ids', () => {
  it('derives RFC version-5 UUIDs (checked against a known vector)', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org')
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('keeps valid UUIDs and derives a stable id for anything else', () => {
    expect(blockIdFor('0B8C6C1E-6A43-4C49-8D7C-4C1F0A1F2B3C')).toEqual({ id: '0b8c6c1e-6a43-4c49-8d7c-4c1f0a1f2b3c', derived: false });
    const a = blockIdFor('legacy-1008');
    expect(a.derived).toBe(true);
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(blockIdFor('legacy-1008')).toEqual(a);
    expect(blockIdFor('04a65651-cdbd-e747-58d5-0f1b4540f426').derived).toBe(true); // GUID-shaped, not an RFC UUID
  });
});

describe('cleanBlock', () => {
  it('maps a clean row field by field and keeps the original type', () => {
    expect(clean()).toMatchObject({
      legacyId: '04a65651-cdbd-e747-58d5-0f1b4540f426',
      type: 'Knowledge',
      originalType: 'synthesis',
      migratedFrom: null,
      sessionId: 's1',
      ideaId: 'idea-1',
      status: 'draft',
      confidence: 0.4,
      properties: '{"tags":["a"],"source":"agent"}',
      propertiesRaw: null,
      abstractionLevel: 'vision',
      createdAt: '2025-03-20T00:00:00.000Z',
      updatedAt: '2025-03-21T01:43:27.000Z',
      validFrom: '2025-03-20T00:00:00.000Z',
      validTo: null,
      importFlags: [],
    });
  });

  it.each([
    ['content', 'Knowledge'],
    ['pattern', 'Knowledge'],
    ['insight', 'Knowledge'],
    ['fact', 'Knowledge'],
    ['decision', 'Decision'],
    ['option', 'Decision'],
    ['assumption', 'Assumption'],
    ['action', 'Task'],
    ['task', 'Task'],
    ['external', 'Evidence'],
    ['evidence', 'Evidence'],
    ['proposal', 'Proposal'],
    ['question', 'Question'],
    ['risk', 'Risk'],
    ['requirement', 'Requirement'],
    ['constraint', 'Requirement'],
    ['Decision', 'Decision'],
  ])('maps type %s to %s', (legacy, type) => {
    expect(clean({ type: legacy })).toMatchObject({ type, originalType: legacy, migratedFrom: null });
  });

  it('maps unknown and empty types to Knowledge with migratedFrom', () => {
    expect(clean({ type: 'LEGACY_NOTE' })).toMatchObject({
      type: 'Knowledge',
      migratedFrom: 'LEGACY_NOTE',
      importFlags: ['type_unmapped'],
    });
    expect(clean({ type: '' })).toMatchObject({ type: 'Knowledge', migratedFrom: '', importFlags: ['type_missing'] });
    for (const inherited of ['constructor', '__proto__', 'toString']) {
      expect(clean({ type: inherited })).toMatchObject({ type: 'Knowledge', migratedFrom: inherited, importFlags: ['type_unmapped'] });
    }
  });

  it('clamps or defaults confidence and says so', () => {
    expect(clean({ confidence: 1.5 })).toMatchObject({ confidence: 1, importFlags: ['confidence_clamped'] });
    expect(clean({ confidence: -0.2 })).toMatchObject({ confidence: 0, importFlags: ['confidence_clamped'] });
    expect(clean({ confidence: null })).toMatchObject({ confidence: 0.5, importFlags: ['confidence_defaulted'] });
    expect(clean({ confidence: 'high' })).toMatchObject({ confidence: 0.5, importFlags: ['confidence_invalid'] });
  });

  it('keeps malformed properties as raw text with a flag', () => {
    const raw = '{"tags": ["x"], "source": "impor';
    expect(clean({ properties: raw })).toMatchObject({ properties: '{}', propertiesRaw: raw, importFlags: ['properties_malformed'] });
    expect(clean({ properties: '[1,2]' })).toMatchObject({
      properties: '{}',
      propertiesRaw: '[1,2]',
      importFlags: ['properties_not_object'],
    });
    expect(clean({ properties: null })).toMatchObject({ properties: '{}', propertiesRaw: null, importFlags: [] });
  });

  it('fills missing timestamps from updated_at, the session, then the snapshot time', () => {
    expect(clean({ created_at: null })).toMatchObject({
      createdAt: '2025-03-21T01:43:27.000Z',
      importFlags: ['created_at_from_updated_at'],
    });
    expect(clean({ created_at: null, updated_at: null })).toMatchObject({
      createdAt: '2024-01-01T00:00:00.000Z',
      updatedAt: '2024-01-01T00:00:00.000Z',
      importFlags: ['created_at_from_session', 'updated_at_missing'],
    });
    expect(clean({ created_at: null, updated_at: null, session_created_at: null })).toMatchObject({ createdAt: ctx.snapshotTime });
    expect(clean({ created_at: 'garbage' }).importFlags).toEqual(['created_at_invalid', 'created_at_from_updated_at']);
    expect(clean({ created_at: 1742066144000, updated_at: '2025-01-01 00:00:00' })).toMatchObject({
      createdAt: '2025-03-15T19:15:44.000Z',
      updatedAt: '2025-03-15T19:15:44.000Z',
      importFlags: ['updated_at_before_created'],
    });
  });

  it('defaults a missing session, derives a missing title, flags empty, long and hostile content', () => {
    expect(clean({ session_id: null })).toMatchObject({ sessionId: 'legacy-default', importFlags: ['session_defaulted'] });
    expect(clean({ session_known: 0 }).importFlags).toEqual(['session_unknown']);
    expect(clean({ title: null, content: '\n  First line here\nsecond' })).toMatchObject({
      title: 'First line here',
      importFlags: ['title_derived'],
    });
    expect(clean({ title: '  ', content: '' })).toMatchObject({ title: '(untitled)', importFlags: ['content_empty', 'title_derived'] });
    const long = 'x'.repeat(130_000);
    expect(clean({ content: long })).toMatchObject({ content: long, importFlags: ['content_long'] });
    for (const hostile of ['<script>alert(1)</script>', "Robert'); DROP TABLE tasks;--", "'}) DETACH DELETE (n) //"]) {
      expect(clean({ title: hostile })).toMatchObject({ title: hostile, importFlags: ['hostile_looking'] });
    }
  });

  it('defaults a missing status and closes validity of superseded and archived blocks', () => {
    expect(clean({ status: null })).toMatchObject({ status: 'active', importFlags: ['status_defaulted'] });
    expect(clean({ status: 'weird' })).toMatchObject({ status: 'active', importFlags: ['status_unknown'] });
    expect(clean({ status: 'superseded' })).toMatchObject({ status: 'superseded', validTo: '2025-03-21T01:43:27.000Z' });
  });

  it('rejects a row without an id', () => {
    expect(cleanBlock(row({ id: null }), ctx)).toEqual({ ok: false, legacyId: null, reason: 'missing_id' });
  });

  it('never throws and always yields a valid block or a reason, whatever the row holds', () => {
    const anyValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.boolean());
    fc.assert(
      fc.property(
        fc.record({
          id: anyValue,
          type: anyValue,
          title: anyValue,
          content: anyValue,
          properties: anyValue,
          confidence: anyValue,
          status: anyValue,
          created_at: anyValue,
          updated_at: anyValue,
        }),
        (r) => {
          const out = cleanBlock(row(r as Partial<LegacyBlockRow>), ctx);
          if (!out.ok) return out.reason === 'missing_id';
          const b = out.block;
          return (
            b.confidence >= 0 &&
            b.confidence <= 1 &&
            b.title.trim().length > 0 &&
            !Number.isNaN(Date.parse(b.createdAt)) &&
            b.updatedAt >= b.createdAt
          );
        },
      ),
    );
  });
});

describe('links', () => {
  const link = (over: Partial<LegacyLinkRow> = {}): LegacyLinkRow => ({
    id: 'l1',
    session_id: 's1',
    source_block_id: 'a',
    target_block_id: 'b',
    link_type: 'supports',
    degree: 'full',
    confidence: 0.7,
    reason: 'r',
    status: 'active',
    created_at: 1728268226000,
    source_exists: 1,
    target_exists: 1,
    ...over,
  });
  const lctx = { ...ctx, isRejectedBlock: (id: string) => id === 'rejected' };

  it('normalizes link types in any case', () => {
    expect(normalizeLinkType('Supports')).toEqual({ type: 'SUPPORTS', original: 'Supports', normalized: true });
    expect(normalizeLinkType('depends_on')).toEqual({ type: 'DEPENDS_ON', original: 'depends_on', normalized: false });
    expect(normalizeLinkType('part of').type).toBe('PART_OF');
    expect(normalizeLinkType('loves').type).toBeNull();
  });

  it('cleans a link and maps its endpoints to block ids', () => {
    const r = cleanLink(link({ link_type: 'Supports', confidence: null }), lctx);
    expect(r).toEqual({
      ok: true,
      link: expect.objectContaining({
        type: 'SUPPORTS',
        sourceId: blockIdFor('a').id,
        targetId: blockIdFor('b').id,
        confidence: 0.5,
        importFlags: ['type_normalized', 'confidence_defaulted'],
      }),
    });
  });

  it.each([
    [{ source_block_id: 'a', target_block_id: 'a' }, 'self_link'],
    [{ link_type: 'loves' }, 'unknown_link_type'],
    [{ source_exists: 0 }, 'dangling_source'],
    [{ target_exists: 0 }, 'dangling_target'],
    [{ target_block_id: 'rejected' }, 'endpoint_rejected'],
    [{ source_block_id: null }, 'missing_endpoint_id'],
  ])('rejects %j as %s', (over, reason) => {
    expect(cleanLink(link(over as Partial<LegacyLinkRow>), lctx)).toEqual({ ok: false, reason });
  });
});
