import { staticTeamDirectory, systemClock, uuid } from '@platform/kit';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type BenchTable, percentile, round, storeEnv, writeBenchResult } from '@platform/testkit';
import { graphSettings, loadGraphConfig } from '../src/config.js';
import { importLegacy, type ImportOptions } from '../src/import/importer.js';
import { lineProgress } from '../src/import/progress.js';
import type { ImportReport } from '../src/import/report.js';
import { createKnowledgeRouter } from '../src/router/index.js';
import { connectGraph, type Graph } from '../src/store/neo4j.js';
import { bootstrapSchema } from '../src/store/schema.js';
import { createCallerFactory } from '../src/trpc.js';
import { deleteTagged } from '../test/support/cleanup.js';
import { alice, log } from '../test/support/harness.js';
import { namespacedCopy } from '../test/support/legacy-copy.js';
import { generateLegacyStore, VOCABULARY } from './generate.js';
import { naiveImport } from './naive-import.js';

/*
 * Knowledge benchmark: legacy import throughput (batched importer next to the naive one-CREATE-
 * per-row baseline, on the sample and on a generated 100k-block store), then read latencies on
 * the 100k store. Everything it writes lives under session ids starting with a fresh prefix and
 * is deleted at the end, also on failure.
 *   npx tsx --conditions=@platform/source services/knowledge/bench/run.ts [--blocks 100000] [--naive-blocks 5000]
 */

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const BLOCKS = arg('blocks', 100_000);
const NAIVE_BLOCKS = arg('naive-blocks', 5_000);
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const config = loadGraphConfig({ ...storeEnv(), ...process.env });
const graph = await connectGraph(graphSettings(config));
await bootstrapSchema(graph, { embeddingDimensions: config.EMBEDDING_DIMENSIONS });
/** Imported blocks belong to the bench's caller, so the reads below see them. */
const BENCH_OWNER = { kind: alice.kind, id: alice.id };
const api = createCallerFactory(createKnowledgeRouter({ graph, clock: systemClock, newId: uuid, embeddingDimensions: config.EMBEDDING_DIMENSIONS, teams: staticTeamDirectory() }))({ principal: alice, authError: null, log });

const prefixes: string[] = [];
const tempDirs: Array<() => void> = [];
const newPrefix = () => {
  const p = `bench${randomBytes(4).toString('hex')}`;
  prefixes.push(p);
  return p;
};

/** Samples the process's resident memory while `fn` runs: evidence that streaming keeps it flat. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; startMiB: number; peakMiB: number }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    return { result: await fn(), startMiB: Math.round(start / 2 ** 20), peakMiB: Math.round(peak / 2 ** 20) };
  } finally {
    clearInterval(timer);
  }
}

async function batched(file: string, defaultSessionId: string, extra: Partial<ImportOptions> = {}): Promise<ImportReport> {
  const report = await importLegacy(graph, { file, defaultSessionId, owner: BENCH_OWNER, progress: lineProgress((l) => say(l), 10_000), ...extra });
  if (!report.ok) throw new Error(`import did not reconcile: ${report.reconciliation.problems.join('; ')}`);
  return report;
}

async function latency(samples: number, fn: (i: number) => Promise<unknown>, warmup = 30): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return { p50: round(percentile(times, 50), 2), p95: round(percentile(times, 95), 2) };
}

const rate = (n: number, s: number) => Math.round(n / Math.max(s, 1e-9));

/**
 * Both import paths once on small throwaway stores before anything is timed: connection pool,
 * Neo4j query plans and V8's JIT are then warm, so the 3,000-row sample measures throughput rather
 * than start-up (which would otherwise be most of its few seconds).
 */
async function warmUp(): Promise<void> {
  for (const method of ['batched', 'naive'] as const) {
    const prefix = newPrefix();
    const store = generateLegacyStore({ blocks: 500, prefix, seed: 3 });
    tempDirs.push(() => rmSync(store.dir, { recursive: true, force: true }));
    if (method === 'batched') await importLegacy(graph, { file: store.file, defaultSessionId: `${prefix}-default`, owner: BENCH_OWNER, spotCheck: 0 });
    else await naiveImport(graph, { file: store.file, defaultSessionId: `${prefix}-default`, maxBlocks: 50, maxLinks: 50 });
  }
}

async function main(): Promise<BenchTable[]> {
  say('warm-up (not timed)');
  await warmUp();
  // ---- the sample store: batched importer and naive baseline, each into its own namespace
  const sample = namespacedCopy();
  tempDirs.push(sample.remove);
  prefixes.push(sample.prefix);
  say('sample: batched import');
  const sampleReport = await batched(sample.file, sample.defaultSessionId);
  const naiveSample = namespacedCopy();
  tempDirs.push(naiveSample.remove);
  prefixes.push(naiveSample.prefix);
  say('sample: naive import (one CREATE per row)');
  const naiveSampleRun = await naiveImport(graph, { file: naiveSample.file, defaultSessionId: naiveSample.defaultSessionId });

  // ---- the generated store
  const genPrefix = newPrefix();
  say(`generating a ${BLOCKS}-block legacy store`);
  const gen = generateLegacyStore({ blocks: BLOCKS, prefix: genPrefix });
  tempDirs.push(() => rmSync(gen.dir, { recursive: true, force: true }));
  say('generated: batched import');
  const { result: genReport, startMiB, peakMiB } = await withPeakRss(() => batched(gen.file, `${genPrefix}-default`));
  const naivePrefix = newPrefix();
  const naiveGen = generateLegacyStore({ blocks: NAIVE_BLOCKS, prefix: naivePrefix, seed: 11 });
  tempDirs.push(() => rmSync(naiveGen.dir, { recursive: true, force: true }));
  say(`generated: naive import of a ${NAIVE_BLOCKS}-block store of the same shape`);
  const naiveGenRun = await naiveImport(graph, { file: naiveGen.file, defaultSessionId: `${naivePrefix}-default` });

  const importRow = (store: string, method: string, r: { blocks: number; links: number; blocksSeconds: number; linksSeconds: number }, vs?: { blocksPerSecond: number; linksPerSecond: number }) => {
    const bps = rate(r.blocks, r.blocksSeconds);
    const lps = rate(r.links, r.linksSeconds);
    return [store, method, r.blocks, r.links, round(r.blocksSeconds, 1), round(r.linksSeconds, 1), bps, lps, vs ? `${round(bps / vs.blocksPerSecond, 1)}× / ${round(lps / vs.linksPerSecond, 1)}×` : '1×'];
  };
  const fromReport = (r: ImportReport) => ({ blocks: r.blocks.accepted, links: r.links.accepted, blocksSeconds: r.timing.blocksSeconds, linksSeconds: r.timing.linksSeconds });
  const naiveSampleRates = { blocksPerSecond: rate(naiveSampleRun.blocks, naiveSampleRun.blocksSeconds), linksPerSecond: rate(naiveSampleRun.links, naiveSampleRun.linksSeconds) };
  const naiveGenRates = { blocksPerSecond: rate(naiveGenRun.blocks, naiveGenRun.blocksSeconds), linksPerSecond: rate(naiveGenRun.links, naiveGenRun.linksSeconds) };
  const genSeconds = genReport.timing.blocksSeconds + genReport.timing.linksSeconds;
  const sampleSpeedup = rate(sampleReport.blocks.accepted, sampleReport.timing.blocksSeconds) / naiveSampleRates.blocksPerSecond;
  const genSpeedup = genReport.timing.blocksPerSecond / naiveGenRates.blocksPerSecond;
  const importTable: BenchTable = {
    title: 'Legacy import throughput (batched UNWIND/MERGE importer vs naive one-CREATE-per-row, same run)',
    columns: ['store', 'method', 'blocks', 'links', 'blocks s', 'links s', 'blocks/s', 'links/s', 'speed-up (blocks / links)'],
    rows: [
      importRow('sample (3,000 blocks)', 'naive', naiveSampleRun),
      importRow('sample (3,000 blocks)', `batched (${sampleReport.options.batchSize}/tx)`, fromReport(sampleReport), naiveSampleRates),
      importRow(`generated (${NAIVE_BLOCKS.toLocaleString('en')} blocks)`, 'naive', naiveGenRun),
      importRow(`generated (${BLOCKS.toLocaleString('en')} blocks)`, `batched (${genReport.options.batchSize}/tx)`, fromReport(genReport), naiveGenRates),
    ],
    notes: [
      `Target ≥ 20× naive: sample ${round(sampleSpeedup, 1)}×, generated ${round(genSpeedup, 1)}× (blocks/s) → ${sampleSpeedup >= 20 && genSpeedup >= 20 ? 'met' : 'NOT met'}.`,
      `Target 100k blocks < 60 s: blocks ${genReport.timing.blocksSeconds} s, blocks + links ${round(genSeconds, 1)} s → ${genReport.timing.blocksSeconds < 60 ? 'met for the blocks' : 'NOT met'}${genSeconds < 60 ? ' and for blocks + links' : ''}.`,
      `Validation after the ${BLOCKS.toLocaleString('en')}-block import (counts per type, every link, ${genReport.spotCheck.sampled}-block spot check): ${genReport.timing.validationSeconds} s, reconciled: ${genReport.ok}.`,
      `Memory while importing ${BLOCKS.toLocaleString('en')} blocks + ${genReport.links.read.toLocaleString('en')} links (streamed): RSS ${startMiB} MiB at start, ${peakMiB} MiB peak.`,
      'The naive baseline is the seed script shape: one auto-commit CREATE per row, same cleaning. On the generated store it runs on a smaller store of the same shape (its rate does not depend on size).',
      'Both paths ran once on small throwaway stores before timing (warm connections, query plans, JIT).',
    ],
  };

  // ---- reads on the 100k store
  say('latency: get-by-id');
  const ids = gen.sampleIds;
  const get = await latency(1_000, (i) => api.blocks.get({ id: ids[i % ids.length]! }));
  say('latency: full-text');
  let rnd = 12345;
  const word = () => VOCABULARY[(rnd = (rnd * 1103515245 + 12345) % 2 ** 31) % VOCABULARY.length]!;
  const ft = await latency(300, (i) => api.search.fullText({ query: i % 3 === 0 ? `${word()} ${word()}` : word(), limit: 20 }));
  say('latency: run path-to-root at depth 50');
  const { run, root } = await api.runs.create({ name: 'bench depth 50', sessionId: `${genPrefix}-wf` });
  const chain = Array.from({ length: 50 }, () => randomUUID());
  await api.runs.addSteps({ runId: run.id, steps: chain.map((id, i) => ({ id, parentId: i === 0 ? root.id : chain[i - 1]!, name: `step ${i + 1}` })) });
  const deepest = chain.at(-1)!;
  const depth = (await api.runs.pathToRoot({ stepId: deepest })).steps.length - 1;
  if (depth !== 50) throw new Error(`expected depth 50, got ${depth}`);
  const path = await latency(200, () => api.runs.pathToRoot({ stepId: deepest }));
  const blocksInGraph = (await graph.driver.executeQuery('MATCH (b:Block) RETURN count(b) AS n', {}, { database: graph.database })).records[0]!.get('n') as number;

  const latencyTable: BenchTable = {
    title: `Read latency with ${BLOCKS.toLocaleString('en')} generated blocks loaded (in-process tRPC caller: zod in and out, auto-commit read statements)`,
    columns: ['operation', 'samples', 'p50 ms', 'p95 ms', 'target p95', 'result'],
    rows: [
      ['blocks.get by id', 1_000, get.p50, get.p95, '< 5 ms', get.p95 < 5 ? 'met' : 'NOT met'],
      ['search.fullText (1–2 words, limit 20)', 300, ft.p50, ft.p95, '< 20 ms', ft.p95 < 20 ? 'met' : 'NOT met'],
      ['runs.pathToRoot at depth 50', 200, path.p50, path.p95, '-', '-'],
    ],
    notes: [`Blocks in the graph during the measurement: ${blocksInGraph.toLocaleString('en')} (the shared database also holds other tests' data).`],
  };
  return [importTable, latencyTable];
}

async function cleanup(g: Graph): Promise<void> {
  for (const p of prefixes) {
    const t = performance.now();
    const n = await deleteTagged(g, p);
    say(`cleanup ${p}: ${n} blocks deleted in ${Math.round(performance.now() - t)} ms`);
  }
  for (const remove of tempDirs) remove();
}

try {
  const tables = await main();
  writeBenchResult('knowledge', tables);
} finally {
  await cleanup(graph);
  await graph.driver.close();
}
