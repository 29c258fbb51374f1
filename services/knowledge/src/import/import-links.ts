import { mergeLinkBatch, type ImportLinkRow } from '../store/legacy-import.js';
import type { Graph } from '../store/neo4j.js';
import { Batcher } from './batcher.js';
import { cleanLink, text, type LinkContext } from './clean.js';
import type { ResolvedOptions } from './options.js';
import { toImportLinkRow } from './rows.js';
import type { LegacySource } from './sqlite-source.js';
import { countAcceptedLink, countRejectedLink, emptyLinkTally, type LinkTally } from './tally.js';

/** Link batches that may wait behind the ones being written (Batcher: keyed batches come in bursts). */
const LINK_BATCHES_QUEUED = 4;
/**
 * Link writes at once, never two of one relationship type (`oneWritePerKey`). Two batches of
 * different types hold different triples, so no repeat of a triple races its first MERGE; they may
 * lock shared endpoint nodes in different orders, and a deadlock is a transient error the driver
 * retries (the MERGE makes the retry create nothing twice). Measured in one process on fresh
 * 30,000-block stores, interleaved pairs: 16,582–19,020 links/s against 11,688–13,230 with one
 * write at a time (README, import section).
 */
const LINK_WRITERS = 2;

/**
 * Phase 2, after every block is written: stream the legacy links, clean each (endpoints that were
 * rejected as blocks reject the link) and write the valid ones in batches, one relationship type
 * per batch. The store's answer per batch tells apart links created now, duplicates within this run and links an earlier run made.
 */
export async function importLinks(
  graph: Graph,
  source: LegacySource,
  ctx: LinkContext,
  opts: ResolvedOptions,
  runId: string,
): Promise<{ tally: LinkTally; seconds: number }> {
  const tally = emptyLinkTally();
  // Batched per relationship type: each transaction is then one statement (the type has to be
  // static in the MERGE), where batches of mixed types took one statement per type and ran at
  // about half the rate of a single statement over the same rows (README, import section).
  const writer = new Batcher<ImportLinkRow>(
    opts.batchSize,
    async (rows) => {
      const r = await mergeLinkBatch(graph, rows, runId);
      tally.created += r.created;
      tally.duplicatesCollapsed += r.inRun - r.created;
      tally.alreadyPresent += r.matched - r.inRun;
      tally.endpointsMissingInGraph += rows.length - r.matched;
      opts.progress.advance(rows.length);
    },
    LINK_WRITERS,
    { keyOf: (row) => row.type, queued: LINK_BATCHES_QUEUED, oneWritePerKey: true },
  );
  const t0 = performance.now();
  opts.progress.start('links', source.counts.links);
  for (const row of source.links()) {
    tally.read++;
    const r = cleanLink(row, ctx);
    if (!r.ok) {
      const reject = {
        legacyId: text(row.id),
        source: text(row.source_block_id),
        target: text(row.target_block_id),
        type: text(row.link_type),
        reason: r.reason,
      };
      countRejectedLink(tally, reject, opts.maxListedRejects);
      opts.progress.advance(1);
      continue;
    }
    countAcceptedLink(tally, r.link);
    // Rows of one triple share a type, so they share a batch or follow in a later one: the first
    // is written before any repeat (batches of one type are written in order, one at a time).
    await writer.push(toImportLinkRow(r.link, opts.owner));
  }
  await writer.flush();
  opts.progress.stop();
  return { tally, seconds: (performance.now() - t0) / 1000 };
}
