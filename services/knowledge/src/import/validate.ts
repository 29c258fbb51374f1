import type { BlockType, RelationshipType } from '@platform/contracts';
import { blockLabels, blocksForSpotCheck, linksPresent } from '../store/legacy-import.js';
import type { Graph } from '../store/neo4j.js';
import { cleanBlock, cleanLink, IMPORTED_BY, type CleanBlock, type CleanContext } from './clean.js';
import type { ImportOwner } from './options.js';
import type { ProgressSink } from './progress.js';
import type { ImportReport } from './report.js';
import type { LegacySource } from './sqlite-source.js';

/*
 * Validation built into the import (seed 000 §4.2): a second streamed pass over the source asks
 * the graph, batch by batch, whether each accepted block is there with its type label and each
 * valid link row has its relationship; then a sample of blocks is compared field by field.
 */

export interface Validation {
  blocksInGraph: Partial<Record<BlockType, number>>;
  linksInGraph: Partial<Record<RelationshipType, number>>;
  spotCheck: ImportReport['spotCheck'];
  problems: string[];
}

interface ValidateOptions {
  ctx: CleanContext;
  linkCtx: CleanContext & { isRejectedBlock: (id: string) => boolean };
  batchSize: number;
  sample: string[];
  progress: ProgressSink;
  owner: ImportOwner;
}

async function inBatches<T>(rows: Iterable<T>, size: number, fn: (batch: T[]) => Promise<void>): Promise<void> {
  let batch: T[] = [];
  for (const r of rows) {
    batch.push(r);
    if (batch.length >= size) {
      await fn(batch);
      batch = [];
    }
  }
  if (batch.length) await fn(batch);
}

function* acceptedBlocks(source: LegacySource, ctx: CleanContext): Generator<{ id: string; type: BlockType }> {
  for (const row of source.blocks()) {
    const r = cleanBlock(row, ctx);
    if (r.ok) yield { id: r.block.id, type: r.block.type };
  }
}

function* acceptedLinks(source: LegacySource, ctx: ValidateOptions['linkCtx']) {
  for (const row of source.links()) {
    const r = cleanLink(row, ctx);
    if (r.ok) yield { sourceId: r.link.sourceId, targetId: r.link.targetId, type: r.link.type };
  }
}

const sameInstant = (a: unknown, b: unknown) =>
  (a == null && b == null) || (typeof a === 'string' && typeof b === 'string' && Date.parse(a) === Date.parse(b));
const sameValue = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Every field the importer writes, expected (from the source row, cleaned again) against the graph. */
export function compareBlock(
  expected: CleanBlock,
  owner: ImportOwner,
  actual: Record<string, unknown>,
): Array<{ field: string; expected: unknown; actual: unknown }> {
  const want: Record<string, unknown> = {
    type: expected.type,
    legacyId: expected.legacyId,
    sessionId: expected.sessionId,
    ideaId: expected.ideaId,
    title: expected.title,
    content: expected.content,
    status: expected.status,
    confidence: expected.confidence,
    properties: expected.properties,
    propertiesRaw: expected.propertiesRaw,
    abstractionLevel: expected.abstractionLevel,
    extractedFromMessageId: expected.extractedFromMessageId,
    originalType: expected.originalType,
    migratedFrom: expected.migratedFrom,
    importFlags: expected.importFlags,
    createdBy: IMPORTED_BY,
    ownerKind: owner.kind,
    ownerId: owner.id,
    teamId: owner.teamId ?? null,
    version: 1,
  };
  const out: Array<{ field: string; expected: unknown; actual: unknown }> = [];
  for (const [field, value] of Object.entries(want)) {
    if (!sameValue(value, actual[field])) out.push({ field, expected: value, actual: actual[field] ?? null });
  }
  for (const field of ['createdAt', 'updatedAt', 'validFrom', 'validTo'] as const) {
    if (!sameInstant(expected[field], actual[field])) out.push({ field, expected: expected[field], actual: actual[field] ?? null });
  }
  return out;
}

export async function validateImport(graph: Graph, source: LegacySource, o: ValidateOptions): Promise<Validation> {
  const problems: string[] = [];
  const blocksInGraph: Partial<Record<BlockType, number>> = {};
  let missing = 0;
  let wrongLabel = 0;
  o.progress.start('check blocks', source.counts.blocks);
  await inBatches(acceptedBlocks(source, o.ctx), o.batchSize, async (batch) => {
    for (const r of await blockLabels(graph, batch)) {
      if (r.actual === null) missing += r.n;
      else if (r.actual !== r.expected) wrongLabel += r.n;
      else blocksInGraph[r.expected] = (blocksInGraph[r.expected] ?? 0) + r.n;
    }
    o.progress.advance(batch.length);
  });
  o.progress.stop();
  if (missing) problems.push(`${missing} accepted blocks are missing from the graph`);
  if (wrongLabel) problems.push(`${wrongLabel} blocks carry another type label than the source maps to`);

  const linksInGraph: Partial<Record<RelationshipType, number>> = {};
  o.progress.start('check links', source.counts.links);
  await inBatches(acceptedLinks(source, o.linkCtx), o.batchSize, async (batch) => {
    for (const r of await linksPresent(graph, batch)) linksInGraph[r.type] = (linksInGraph[r.type] ?? 0) + r.present;
    o.progress.advance(batch.length);
  });
  o.progress.stop();

  const spotCheck: ImportReport['spotCheck'] = { sampled: 0, matched: 0, mismatches: [] };
  const expected = source.blocksByLegacyId(o.sample).flatMap((row) => {
    const r = cleanBlock(row, o.ctx);
    return r.ok ? [r.block] : [];
  });
  const actual = await blocksForSpotCheck(
    graph,
    expected.map((e) => e.id),
  );
  for (const e of expected) {
    spotCheck.sampled++;
    const a = actual.get(e.id);
    const diffs = a ? compareBlock(e, o.owner, a) : [{ field: '(block)', expected: e.id, actual: null }];
    if (diffs.length === 0) spotCheck.matched++;
    for (const d of diffs) spotCheck.mismatches.push({ legacyId: e.legacyId, id: e.id, ...d });
  }
  if (spotCheck.matched !== spotCheck.sampled)
    problems.push(`spot check: ${spotCheck.sampled - spotCheck.matched} of ${spotCheck.sampled} sampled blocks differ from the source`);
  return { blocksInGraph, linksInGraph, spotCheck, problems };
}
