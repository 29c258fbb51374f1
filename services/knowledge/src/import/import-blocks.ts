import { mergeBlockBatch, type ImportBlockRow } from '../store/legacy-import.js';
import type { Graph } from '../store/neo4j.js';
import { Batcher } from './batcher.js';
import { cleanBlock, type CleanContext } from './clean.js';
import type { ResolvedOptions } from './options.js';
import { toImportBlockRow } from './rows.js';
import { reservoir } from './sample.js';
import type { LegacySource } from './sqlite-source.js';
import { countAcceptedBlock, countRejectedBlock, emptyBlockTally, type BlockTally } from './tally.js';

export interface BlocksPhase {
  tally: BlockTally;
  /** Legacy ids of rejected blocks: links to them are rejected in turn. */
  rejected: Set<string>;
  /** A uniform sample of accepted legacy ids for the spot check. */
  sample: string[];
  seconds: number;
}

/**
 * Phase 1: stream the legacy blocks, clean each, count what cleaning did and write the accepted
 * ones in batches (`blockWriters` in flight: ids are disjoint, so they never wait on each other).
 */
export async function importBlocks(
  graph: Graph,
  source: LegacySource,
  ctx: CleanContext,
  opts: ResolvedOptions,
  runId: string,
  random: () => number,
): Promise<BlocksPhase> {
  const tally = emptyBlockTally();
  const rejected = new Set<string>();
  const sample = reservoir<string>(opts.spotCheck, random);
  const writer = new Batcher<ImportBlockRow>(
    opts.batchSize,
    async (rows) => {
      const { created } = await mergeBlockBatch(graph, rows, runId);
      tally.created += created;
      tally.alreadyPresent += rows.length - created;
      opts.progress.advance(rows.length);
    },
    opts.blockWriters,
  );
  const t0 = performance.now();
  opts.progress.start('blocks', source.counts.blocks);
  for (const row of source.blocks()) {
    tally.read++;
    const r = cleanBlock(row, ctx);
    if (!r.ok) {
      countRejectedBlock(tally, r.legacyId, r.reason, opts.maxListedRejects);
      if (r.legacyId !== null) rejected.add(r.legacyId);
      opts.progress.advance(1);
      continue;
    }
    countAcceptedBlock(tally, r.block);
    sample.offer(r.block.legacyId, tally.accepted);
    await writer.push(toImportBlockRow(r.block, opts.owner));
  }
  await writer.flush();
  opts.progress.stop();
  return { tally, rejected, sample: sample.items, seconds: (performance.now() - t0) / 1000 };
}
