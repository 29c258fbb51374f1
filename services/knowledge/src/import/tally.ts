import type { CleanBlock, CleanLink } from './clean.js';
import type { ImportReport } from './report.js';

/** The report's per-row counters: what was read, accepted, rejected and flagged, per phase. */

export type BlockTally = ImportReport['blocks'];
export type LinkTally = ImportReport['links'];

/** Legacy types are free text; past this many distinct ones, the rest share a bucket. */
const MAX_ORIGINAL_TYPES = 1_000;
const FLAG_EXAMPLES = 3;

const inc = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

export function emptyBlockTally(): BlockTally {
  return {
    read: 0,
    accepted: 0,
    rejected: 0,
    created: 0,
    alreadyPresent: 0,
    idsDerived: 0,
    // A null-prototype object, so even a legacy type `__proto__` is just a key.
    byType: {},
    byOriginalType: Object.create(null) as BlockTally['byOriginalType'],
    timestampFormats: { createdAt: {}, updatedAt: {} },
    flags: {},
    flagExamples: {},
    rejects: [],
    rejectsByReason: {},
  };
}

export function emptyLinkTally(): LinkTally {
  return {
    read: 0,
    accepted: 0,
    rejected: 0,
    created: 0,
    alreadyPresent: 0,
    duplicatesCollapsed: 0,
    endpointsMissingInGraph: 0,
    byType: {},
    flags: {},
    rejects: [],
    rejectsByReason: {},
  };
}

export function countRejectedBlock(t: BlockTally, legacyId: string | null, reason: string, maxListed: number): void {
  t.rejected++;
  inc(t.rejectsByReason, reason);
  if (t.rejects.length < maxListed) t.rejects.push({ legacyId, reason });
}

export function countAcceptedBlock(t: BlockTally, c: CleanBlock): void {
  t.accepted++;
  if (c.idDerived) t.idsDerived++;
  (t.byType[c.type] ??= { source: 0, graph: 0 }).source++;
  const typeKey =
    Object.hasOwn(t.byOriginalType, c.originalType) || Object.keys(t.byOriginalType).length < MAX_ORIGINAL_TYPES
      ? c.originalType
      : '(other types)';
  (t.byOriginalType[typeKey] ??= { count: 0, mappedTo: c.type }).count++;
  inc(t.timestampFormats.createdAt, c.formats.createdAt);
  inc(t.timestampFormats.updatedAt, c.formats.updatedAt);
  for (const f of c.importFlags) {
    inc(t.flags, f);
    const ex = (t.flagExamples[f] ??= []);
    if (ex.length < FLAG_EXAMPLES) ex.push(c.legacyId);
  }
}

export function countRejectedLink(t: LinkTally, reject: LinkTally['rejects'][number], maxListed: number): void {
  t.rejected++;
  inc(t.rejectsByReason, reject.reason);
  if (t.rejects.length < maxListed) t.rejects.push(reject);
}

export function countAcceptedLink(t: LinkTally, l: CleanLink): void {
  t.accepted++;
  (t.byType[l.type] ??= { sourceRows: 0, inGraph: 0 }).sourceRows++;
  for (const f of l.importFlags) inc(t.flags, f);
}
