import { BlockType, type BlockStatus } from '@platform/contracts';
import { ownerProjection, toOwnerView, type OwnerView } from './scope.js';

/** A block as the store returns it: plain values, dates as ISO strings, properties parsed. */
export interface BlockRecord extends OwnerView {
  id: string;
  type: BlockType;
  sessionId: string;
  ideaId: string | null;
  title: string;
  content: string;
  status: BlockStatus;
  confidence: number;
  properties: Record<string, unknown>;
  abstractionLevel: string | null;
  version: number;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  validFrom: string;
  validTo: string | null;
  hasEmbedding: boolean;
  /** Set on blocks moved in by the legacy importer: where they came from and what cleaning did. */
  legacy: LegacyInfo | null;
}

export interface LegacyInfo {
  legacyId: string;
  originalType: string;
  migratedFrom: string | null;
  importFlags: string[];
  propertiesRaw: string | null;
}

// The type label is read back and narrowed to the allow-list (a block carries exactly one of them).
const TYPE_LABELS = `[${BlockType.options.map((t) => `'${t}'`).join(', ')}]`;

/** Map projection of a block node bound to `v`, usable in RETURN and in list comprehensions. */
export const blockProjection = (v: string) => `${v} { .id, .sessionId, .ideaId, .title, .content, .status, .confidence, .properties,
  .abstractionLevel, .version, .createdBy, .legacyId, .originalType, .migratedFrom, .importFlags, .propertiesRaw,
  ${ownerProjection(v)},
  createdAt: toString(${v}.createdAt), updatedAt: toString(${v}.updatedAt),
  validFrom: toString(coalesce(${v}.validFrom, ${v}.createdAt)), validTo: toString(${v}.validTo),
  hasEmbedding: ${v}.embedding IS NOT NULL,
  type: [l IN labels(${v}) WHERE l IN ${TYPE_LABELS}][0] }`;

export const RETURN_BLOCK = `RETURN ${blockProjection('b')} AS block`;

type RawBlock = Omit<
  BlockRecord,
  'properties' | 'legacy' | 'ideaId' | 'abstractionLevel' | 'validTo' | 'createdBy' | 'owner' | 'teamId'
> & {
  ownerKind?: string | null;
  ownerId?: string | null;
  teamId?: string | null;
  properties: string | null;
  ideaId?: string | null;
  abstractionLevel?: string | null;
  validTo?: string | null;
  createdBy?: string | null;
  legacyId?: string | null;
  originalType?: string | null;
  migratedFrom?: string | null;
  importFlags?: string[] | null;
  propertiesRaw?: string | null;
};

/** Neo4j prints datetimes without zero milliseconds; callers get one format (JS toISOString). */
export function isoOf(s: string): string;
export function isoOf(s: string | null | undefined): string | null;
export function isoOf(s: string | null | undefined): string | null {
  return s ? new Date(s).toISOString() : null;
}

function parseProperties(json: string | null): Record<string, unknown> {
  if (!json) return {};
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Turns the projection's raw map into a BlockRecord (absent optional properties become null). */
export function toBlockRecord(raw: unknown): BlockRecord {
  const r = raw as RawBlock;
  return {
    id: r.id,
    type: r.type,
    sessionId: r.sessionId,
    ideaId: r.ideaId ?? null,
    title: r.title,
    content: r.content ?? '',
    status: r.status,
    confidence: r.confidence,
    properties: parseProperties(r.properties),
    abstractionLevel: r.abstractionLevel ?? null,
    version: r.version ?? 1,
    createdBy: r.createdBy ?? null,
    ...toOwnerView(r),
    createdAt: isoOf(r.createdAt),
    updatedAt: isoOf(r.updatedAt),
    validFrom: isoOf(r.validFrom),
    validTo: isoOf(r.validTo),
    hasEmbedding: r.hasEmbedding,
    legacy: r.legacyId
      ? {
          legacyId: r.legacyId,
          originalType: r.originalType ?? '',
          migratedFrom: r.migratedFrom ?? null,
          importFlags: r.importFlags ?? [],
          propertiesRaw: r.propertiesRaw ?? null,
        }
      : null,
  };
}
