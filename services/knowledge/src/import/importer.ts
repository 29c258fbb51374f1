import { randomUUID } from 'node:crypto';
import type { Graph } from '../store/neo4j.js';
import type { CleanContext, LinkContext } from './clean.js';
import { importBlocks } from './import-blocks.js';
import { importLinks } from './import-links.js';
import { resolveOptions, type ImportOptions } from './options.js';
import { reconcile, summarize } from './reconcile.js';
import type { ImportReport } from './report.js';
import { prng } from './sample.js';
import { openLegacySource } from './sqlite-source.js';
import { validateImport } from './validate.js';

export { IMPORT_DEFAULTS, type ImportOptions, type ImportOwner } from './options.js';
export { toImportBlockRow, toImportLinkRow } from './rows.js';

const round = (n: number) => Math.round(n * 1000) / 1000;
const perSecond = (n: number, seconds: number) => Math.round(n / Math.max(seconds, 0.001));

/**
 * Moves a legacy SQLite store into the graph: blocks first (import-blocks.ts), then links
 * (import-links.ts), each streamed from SQLite and written in UNWIND batches; then validates
 * (counts per type, links present, spot check) and reconciles the counts (reconcile.ts).
 * Cleaning never throws on bad data: each row becomes a clean record with flags or a reject.
 */
export async function importLegacy(graph: Graph, options: ImportOptions): Promise<ImportReport> {
  const opts = resolveOptions(options);
  const runId = randomUUID();
  const startedAt = opts.now().toISOString();
  const source = openLegacySource(opts.file);
  try {
    const ctx: CleanContext = { defaultSessionId: opts.defaultSessionId, snapshotTime: source.modifiedAt };
    const random = prng(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
    const blocks = await importBlocks(graph, source, ctx, opts, runId, random);
    const linkCtx: LinkContext = { ...ctx, isRejectedBlock: (id) => blocks.rejected.has(id) };
    const links = await importLinks(graph, source, linkCtx, opts, runId);

    const t0 = performance.now();
    const validation = await validateImport(graph, source, {
      ctx,
      linkCtx,
      batchSize: opts.batchSize,
      sample: blocks.sample,
      progress: opts.progress,
      owner: opts.owner,
    });
    const problems = reconcile(blocks.tally, links.tally, validation, source.counts);
    const validationSeconds = (performance.now() - t0) / 1000;

    return {
      runId,
      ok: problems.length === 0,
      summary: summarize(blocks.tally, links.tally),
      source: { file: source.file, sizeBytes: source.sizeBytes, modifiedAt: source.modifiedAt, ...source.counts },
      options: {
        batchSize: opts.batchSize,
        spotCheck: opts.spotCheck,
        defaultSessionId: opts.defaultSessionId,
        owner: { kind: opts.owner.kind, id: opts.owner.id, teamId: opts.owner.teamId ?? null },
      },
      timing: {
        startedAt,
        finishedAt: opts.now().toISOString(),
        blocksSeconds: round(blocks.seconds),
        linksSeconds: round(links.seconds),
        validationSeconds: round(validationSeconds),
        blocksPerSecond: perSecond(blocks.tally.accepted, blocks.seconds),
        linksPerSecond: perSecond(links.tally.accepted, links.seconds),
      },
      blocks: blocks.tally,
      links: links.tally,
      rejectsListed: opts.maxListedRejects,
      spotCheck: validation.spotCheck,
      reconciliation: { ok: problems.length === 0, problems },
    };
  } finally {
    source.close();
  }
}
