import type { BlockType, PrincipalKind, RelationshipType } from '@platform/contracts';
import { randomUUID } from 'node:crypto';
import { mergeBlockBatch, mergeLinkBatch, type ImportBlockRow, type ImportLinkRow } from '../store/legacy-import.js';
import type { Graph } from '../store/neo4j.js';
import { Batcher } from './batcher.js';
import { cleanBlock, cleanLink, IMPORTED_BY, text, type CleanBlock, type CleanContext, type CleanLink } from './clean.js';
import { silentProgress, type ProgressSink } from './progress.js';
import type { ImportReport } from './report.js';
import { openLegacySource, type LegacySource } from './sqlite-source.js';
import { validateImport } from './validate.js';

/** Whose the imported blocks and links become (legacy stores have no owners): required. */
export interface ImportOwner {
  kind: PrincipalKind;
  id: string;
  /** Shares everything imported with this team as well. */
  teamId?: string | null | undefined;
}

export interface ImportOptions {
  file: string;
  owner: ImportOwner;
  batchSize?: number;
  /** Random blocks compared field by field with the graph after the import. */
  spotCheck?: number;
  defaultSessionId?: string;
  /** Seeds the spot-check sample, for a reproducible report. */
  seed?: number;
  /** Block batches written concurrently (disjoint ids: no lock contention). Links go one at a time. */
  blockWriters?: number;
  maxListedRejects?: number;
  progress?: ProgressSink;
  now?: () => Date;
}

export const IMPORT_DEFAULTS = { batchSize: 2_000, spotCheck: 25, defaultSessionId: 'legacy-default-session', blockWriters: 2, maxListedRejects: 1_000 };

const MAX_ORIGINAL_TYPES = 1_000;

const inc = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

/** Deterministic PRNG (mulberry32) for the reservoir sample. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ownerProps = (o: ImportOwner) => ({ ownerKind: o.kind, ownerId: o.id, teamId: o.teamId ?? null });

export function toImportBlockRow(b: CleanBlock, owner: ImportOwner): ImportBlockRow {
  return {
    id: b.id,
    type: b.type,
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
    validFrom: b.validFrom,
    validTo: b.validTo,
    props: {
      legacyId: b.legacyId,
      sessionId: b.sessionId,
      ideaId: b.ideaId,
      title: b.title,
      content: b.content,
      status: b.status,
      confidence: b.confidence,
      properties: b.properties,
      propertiesRaw: b.propertiesRaw,
      abstractionLevel: b.abstractionLevel,
      extractedFromMessageId: b.extractedFromMessageId,
      originalType: b.originalType,
      migratedFrom: b.migratedFrom,
      importFlags: b.importFlags,
      createdBy: IMPORTED_BY,
      ...ownerProps(owner),
    },
  };
}

export function toImportLinkRow(l: CleanLink, owner: ImportOwner): ImportLinkRow {
  return {
    sourceId: l.sourceId,
    targetId: l.targetId,
    type: l.type,
    createdAt: l.createdAt,
    props: { legacyId: l.legacyId, confidence: l.confidence, reason: l.reason, degree: l.degree, legacyStatus: l.legacyStatus, originalType: l.originalType, importFlags: l.importFlags, createdBy: IMPORTED_BY, ...ownerProps(owner) },
  };
}

/**
 * Moves a legacy SQLite store into the graph: blocks first, then links, each streamed from SQLite
 * and written in UNWIND batches; then validates (counts per type, links present, spot check).
 * Cleaning never throws on bad data: each row becomes a clean record with flags or a reject.
 */
export async function importLegacy(graph: Graph, options: ImportOptions): Promise<ImportReport> {
  const opts = { ...IMPORT_DEFAULTS, ...options };
  if (!opts.owner?.id) throw new Error('importLegacy needs an owner for the imported records');
  const now = opts.now ?? (() => new Date());
  const progress = opts.progress ?? silentProgress;
  const runId = randomUUID();
  const startedAt = now().toISOString();
  const source: LegacySource = openLegacySource(opts.file);
  try {
    const ctx: CleanContext = { defaultSessionId: opts.defaultSessionId, snapshotTime: source.modifiedAt };
    const rejected = new Set<string>();
    const random = prng(opts.seed ?? Math.floor(Math.random() * 2 ** 32));

    // ---- blocks
    const b: ImportReport['blocks'] = {
      read: 0, accepted: 0, rejected: 0, created: 0, alreadyPresent: 0, idsDerived: 0,
      byType: {}, byOriginalType: Object.create(null) as ImportReport['blocks']['byOriginalType'], timestampFormats: { createdAt: {}, updatedAt: {} }, flags: {}, flagExamples: {}, rejects: [], rejectsByReason: {},
    };
    const sample: string[] = [];
    const blockWriter = new Batcher<ImportBlockRow>(opts.batchSize, async (rows) => {
      const { created } = await mergeBlockBatch(graph, rows, runId);
      b.created += created;
      b.alreadyPresent += rows.length - created;
      progress.advance(rows.length);
    }, opts.blockWriters);
    const t0 = performance.now();
    progress.start('blocks', source.counts.blocks);
    for (const row of source.blocks()) {
      b.read++;
      const r = cleanBlock(row, ctx);
      if (!r.ok) {
        b.rejected++;
        inc(b.rejectsByReason, r.reason);
        if (r.legacyId !== null) rejected.add(r.legacyId);
        if (b.rejects.length < opts.maxListedRejects) b.rejects.push({ legacyId: r.legacyId, reason: r.reason });
        progress.advance(1);
        continue;
      }
      const c = r.block;
      b.accepted++;
      if (c.idDerived) b.idsDerived++;
      const byType = (b.byType[c.type] ??= { source: 0, graph: 0 });
      byType.source++;
      // Legacy types are free text (a null-prototype object, so even `__proto__` is just a key);
      // past MAX_ORIGINAL_TYPES distinct ones, the rest share a bucket.
      const typeKey = Object.hasOwn(b.byOriginalType, c.originalType) || Object.keys(b.byOriginalType).length < MAX_ORIGINAL_TYPES ? c.originalType : '(other types)';
      (b.byOriginalType[typeKey] ??= { count: 0, mappedTo: c.type }).count++;
      inc(b.timestampFormats.createdAt, c.formats.createdAt);
      inc(b.timestampFormats.updatedAt, c.formats.updatedAt);
      for (const f of c.importFlags) {
        inc(b.flags, f);
        const ex = (b.flagExamples[f] ??= []);
        if (ex.length < 3) ex.push(c.legacyId);
      }
      // Reservoir sampling: a uniform sample of legacy ids in O(spotCheck) memory.
      if (sample.length < opts.spotCheck) sample.push(c.legacyId);
      else {
        const j = Math.floor(random() * b.accepted);
        if (j < opts.spotCheck) sample[j] = c.legacyId;
      }
      await blockWriter.push(toImportBlockRow(c, opts.owner));
    }
    await blockWriter.flush();
    progress.stop();
    const blocksSeconds = (performance.now() - t0) / 1000;

    // ---- links
    const l: ImportReport['links'] = {
      read: 0, accepted: 0, rejected: 0, created: 0, alreadyPresent: 0, duplicatesCollapsed: 0, endpointsMissingInGraph: 0,
      byType: {}, flags: {}, rejects: [], rejectsByReason: {},
    };
    const linkWriter = new Batcher<ImportLinkRow>(opts.batchSize, async (rows) => {
      const r = await mergeLinkBatch(graph, rows, runId);
      l.created += r.created;
      l.duplicatesCollapsed += r.inRun - r.created;
      l.alreadyPresent += r.matched - r.inRun;
      l.endpointsMissingInGraph += rows.length - r.matched;
      progress.advance(rows.length);
    });
    const t1 = performance.now();
    progress.start('links', source.counts.links);
    const linkCtx = { ...ctx, isRejectedBlock: (id: string) => rejected.has(id) };
    for (const row of source.links()) {
      l.read++;
      const r = cleanLink(row, linkCtx);
      if (!r.ok) {
        l.rejected++;
        inc(l.rejectsByReason, r.reason);
        if (l.rejects.length < opts.maxListedRejects) {
          l.rejects.push({ legacyId: text(row.id), source: text(row.source_block_id), target: text(row.target_block_id), type: text(row.link_type), reason: r.reason });
        }
        progress.advance(1);
        continue;
      }
      l.accepted++;
      (l.byType[r.link.type] ??= { sourceRows: 0, inGraph: 0 }).sourceRows++;
      for (const f of r.link.importFlags) inc(l.flags, f);
      await linkWriter.push(toImportLinkRow(r.link, opts.owner));
    }
    await linkWriter.flush();
    progress.stop();
    const linksSeconds = (performance.now() - t1) / 1000;

    // ---- validation
    const t2 = performance.now();
    const validation = await validateImport(graph, source, { ctx, linkCtx, batchSize: opts.batchSize, sample, progress, owner: opts.owner });
    for (const [type, n] of Object.entries(validation.blocksInGraph)) (b.byType[type as BlockType] ??= { source: 0, graph: 0 }).graph = n;
    for (const [type, n] of Object.entries(validation.linksInGraph)) (l.byType[type as RelationshipType] ??= { sourceRows: 0, inGraph: 0 }).inGraph = n;
    const validationSeconds = (performance.now() - t2) / 1000;

    const problems = [...validation.problems];
    for (const [type, c] of Object.entries(b.byType)) if (c.source !== c.graph) problems.push(`blocks of type ${type}: ${c.source} in the source, ${c.graph} in the graph`);
    for (const [type, c] of Object.entries(l.byType)) if (c.sourceRows !== c.inGraph) problems.push(`links of type ${type}: ${c.sourceRows} valid rows, ${c.inGraph} found in the graph`);
    if (l.endpointsMissingInGraph > 0) problems.push(`${l.endpointsMissingInGraph} valid links had an endpoint missing in the graph`);
    if (b.read !== source.counts.blocks || l.read !== source.counts.links) problems.push('rows read differ from the source counts');

    const nothingNew = b.created === 0 && l.created === 0;
    const summary = nothingNew
      ? `nothing new: all ${b.alreadyPresent} blocks and ${l.alreadyPresent + l.duplicatesCollapsed} link rows were already in the graph`
      : `created ${b.created} blocks (${b.alreadyPresent} already present) and ${l.created} links (${l.alreadyPresent} already present, ${l.duplicatesCollapsed} duplicates collapsed); rejected ${b.rejected} blocks and ${l.rejected} links`;

    return {
      runId,
      ok: problems.length === 0,
      summary,
      source: { file: source.file, sizeBytes: source.sizeBytes, modifiedAt: source.modifiedAt, ...source.counts },
      options: {
        batchSize: opts.batchSize,
        spotCheck: opts.spotCheck,
        defaultSessionId: opts.defaultSessionId,
        owner: { kind: opts.owner.kind, id: opts.owner.id, teamId: opts.owner.teamId ?? null },
      },
      timing: {
        startedAt,
        finishedAt: now().toISOString(),
        blocksSeconds: round(blocksSeconds),
        linksSeconds: round(linksSeconds),
        validationSeconds: round(validationSeconds),
        blocksPerSecond: Math.round(b.accepted / Math.max(blocksSeconds, 0.001)),
        linksPerSecond: Math.round(l.accepted / Math.max(linksSeconds, 0.001)),
      },
      blocks: b,
      links: l,
      rejectsListed: opts.maxListedRejects,
      spotCheck: validation.spotCheck,
      reconciliation: { ok: problems.length === 0, problems },
    };
  } finally {
    source.close();
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;
