import { staticTeamDirectory, systemClock, uuid } from '@platform/kit';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type BenchTable, percentile, printTable, round, storeEnv, writeBenchResult } from '@platform/testkit';
import { graphSettings, loadGraphConfig } from '../src/config.js';
import { IMPORT_DEFAULTS, importLegacy, type ImportOptions } from '../src/import/importer.js';
import { lineProgress } from '../src/import/progress.js';
import type { ImportReport } from '../src/import/report.js';
import { createKnowledgeRouter } from '../src/router/index.js';
import { connectGraph, type Graph } from '../src/store/neo4j.js';
import { bootstrapSchema } from '../src/store/schema.js';
import { createCallerFactory } from '../src/trpc.js';
import { deleteTagged } from '../test/support/cleanup.js';
import { alice, log } from '../test/support/harness.js';
import { FIXTURE, namespacedCopy } from '../test/support/legacy-copy.js';
import { bareLoad, dropLeftoverBareLoads } from './bare-load.js';
import { generateLegacyStore, VOCABULARY, type GeneratedStore } from './generate.js';
import { naiveImport } from './naive-import.js';
import { measureTextProfile } from './text-profile.js';
import { benchRecorder } from './recorder.js';

/*
 * Knowledge benchmark: legacy import throughput (batched importer next to the naive one-CREATE-
 * per-row baseline, on the sample and on a generated 100k-block store; and next to a bare
 * UNWIND … CREATE load of the same rows, on the 100k small-vocabulary store and on a text-heavy
 * store shaped like the sample), then read latencies on the 100k store. Everything it writes lives
 * under session ids starting with a fresh prefix (or, for the bare load, a scratch label) and is
 * deleted at the end, also on failure.
 *   npx tsx --conditions=@platform/source services/knowledge/bench/run.ts [--blocks 100000] [--text-blocks 40000] [--naive-blocks 5000] [--recorder-jobs 1000]
 * `--only-bare`: the table against the bare load alone, printed and not written to .data/bench (a
 * store given 0 blocks is left out: `--only-bare --blocks 0` runs the text-heavy store only).
 * `--only-recorder`: the run recorder's table alone, printed and not written either.
 */

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const BLOCKS = arg('blocks', 100_000);
const NAIVE_BLOCKS = arg('naive-blocks', 5_000);
const TEXT_BLOCKS = arg('text-blocks', 40_000);
const RECORDER_JOBS = arg('recorder-jobs', 1_000);
const ONLY_BARE = process.argv.includes('--only-bare');
const ONLY_RECORDER = process.argv.includes('--only-recorder');
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const config = loadGraphConfig({ ...storeEnv(), ...process.env });
const graph = await connectGraph(graphSettings(config));
await bootstrapSchema(graph, { embeddingDimensions: config.EMBEDDING_DIMENSIONS });
/** Imported blocks belong to the bench's caller, so the reads below see them. */
const BENCH_OWNER = { kind: alice.kind, id: alice.id };
const api = createCallerFactory(
  createKnowledgeRouter({
    graph,
    clock: systemClock,
    newId: uuid,
    embeddingDimensions: config.EMBEDDING_DIMENSIONS,
    teams: staticTeamDirectory(),
  }),
)({ principal: alice, authError: null, log });

const prefixes: string[] = [];
const tempDirs: Array<() => void> = [];
const scratch: Array<() => Promise<void>> = [];
const newPrefix = () => {
  const p = `bench${randomBytes(4).toString('hex')}`;
  prefixes.push(p);
  return p;
};

/** Samples the process's resident memory and V8 heap while `fn` runs: evidence that streaming keeps them flat. */
async function withPeakRss<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; startMiB: number; peakMiB: number; heapStartMiB: number; heapPeakMiB: number }> {
  const mib = (n: number) => Math.round(n / 2 ** 20);
  const start = process.memoryUsage();
  let peak = start.rss;
  let heapPeak = start.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  }, 50);
  try {
    return {
      result: await fn(),
      startMiB: mib(start.rss),
      peakMiB: mib(peak),
      heapStartMiB: mib(start.heapUsed),
      heapPeakMiB: mib(heapPeak),
    };
  } finally {
    clearInterval(timer);
  }
}

/** The bare load of a store into a scratch label, timed, then dropped again (so the importer meets the same graph). */
async function bare(file: string): Promise<{ blocks: number; links: number; blocksSeconds: number; linksSeconds: number }> {
  const load = await bareLoad(graph);
  scratch.push(() => load.drop());
  try {
    return await load.load(file, { batchSize: IMPORT_DEFAULTS.batchSize, blockWriters: IMPORT_DEFAULTS.blockWriters });
  } finally {
    say(`dropping the scratch label ${load.label}`);
    await load.drop();
  }
}

/**
 * One store: the bare load, the importer on the same rows, the bare load again; both rates and the
 * importer's memory. The limit is the mean of the two bare loads' rates: the load on a shared
 * machine drifts within minutes, and bracketing the importer keeps that drift out of the ratio.
 */
async function againstBare(name: string, store: GeneratedStore, prefix: string) {
  say(`${name}: bare UNWIND … CREATE load (before)`);
  const before = await bare(store.file);
  say(`${name}: importer`);
  const { result: report, ...memory } = await withPeakRss(() => batched(store.file, `${prefix}-default`));
  say(`${name}: bare UNWIND … CREATE load (after)`);
  const after = await bare(store.file);
  const mean = (f: (r: typeof before) => number) => Math.round((f(before) + f(after)) / 2);
  const limit = {
    blocksPerSecond: mean((r) => rate(r.blocks, r.blocksSeconds)),
    linksPerSecond: mean((r) => rate(r.links, r.linksSeconds)),
  };
  return { name, store, before, after, limit, report, memory };
}

async function batched(file: string, defaultSessionId: string, extra: Partial<ImportOptions> = {}): Promise<ImportReport> {
  const report = await importLegacy(graph, {
    file,
    defaultSessionId,
    owner: BENCH_OWNER,
    progress: lineProgress((l) => say(l), 10_000),
    ...extra,
  });
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
  for (const method of ['batched', 'naive', 'bare'] as const) {
    const prefix = newPrefix();
    const store = generateLegacyStore({ blocks: 500, prefix, seed: 3 });
    tempDirs.push(() => rmSync(store.dir, { recursive: true, force: true }));
    if (method === 'batched')
      await importLegacy(graph, { file: store.file, defaultSessionId: `${prefix}-default`, owner: BENCH_OWNER, spotCheck: 0 });
    else if (method === 'naive')
      await naiveImport(graph, { file: store.file, defaultSessionId: `${prefix}-default`, maxBlocks: 50, maxLinks: 50 });
    else await bare(store.file);
  }
}

/** `--only-bare`: the importer against the bare load on the stores given a size, nothing else. */
async function bareOnly(): Promise<BenchTable> {
  const runs: BareRun[] = [];
  const profile = measureTextProfile(FIXTURE);
  // The same stores as main() builds (the generated one with the generator's default seed).
  const stores = [
    { name: `generated (${BLOCKS.toLocaleString('en')} blocks, small vocabulary)`, blocks: BLOCKS, opts: {} },
    {
      name: `text-heavy (${TEXT_BLOCKS.toLocaleString('en')} blocks, sample-shaped)`,
      blocks: TEXT_BLOCKS,
      opts: { seed: 5, text: profile },
    },
  ];
  for (const s of stores.filter((x) => x.blocks > 0)) {
    const prefix = newPrefix();
    const store = generateLegacyStore({ blocks: s.blocks, prefix, ...s.opts });
    tempDirs.push(() => rmSync(store.dir, { recursive: true, force: true }));
    runs.push(await againstBare(s.name, store, prefix));
  }
  return againstBareTable(runs, profile);
}

async function main(): Promise<BenchTable[]> {
  for (const label of await dropLeftoverBareLoads(graph)) say(`dropped ${label}, left by an interrupted run`);
  say('warm-up (not timed)');
  await warmUp();
  if (ONLY_BARE) return [await bareOnly()];
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
  const genRun = await againstBare(`generated (${BLOCKS.toLocaleString('en')} blocks, small vocabulary)`, gen, genPrefix);
  const {
    report: genReport,
    memory: { startMiB, peakMiB },
  } = genRun;
  const naivePrefix = newPrefix();
  const naiveGen = generateLegacyStore({ blocks: NAIVE_BLOCKS, prefix: naivePrefix, seed: 11 });
  tempDirs.push(() => rmSync(naiveGen.dir, { recursive: true, force: true }));
  say(`generated: naive import of a ${NAIVE_BLOCKS}-block store of the same shape`);
  const naiveGenRun = await naiveImport(graph, { file: naiveGen.file, defaultSessionId: `${naivePrefix}-default` });

  // ---- the text-heavy store: the sample's content lengths and links per block, fresh words
  const profile = measureTextProfile(FIXTURE);
  const textPrefix = newPrefix();
  say(`generating a ${TEXT_BLOCKS}-block text-heavy legacy store`);
  const text = generateLegacyStore({ blocks: TEXT_BLOCKS, prefix: textPrefix, seed: 5, text: profile });
  tempDirs.push(() => rmSync(text.dir, { recursive: true, force: true }));
  const textRun = await againstBare(`text-heavy (${TEXT_BLOCKS.toLocaleString('en')} blocks, sample-shaped)`, text, textPrefix);

  const importRow = (
    store: string,
    method: string,
    r: { blocks: number; links: number; blocksSeconds: number; linksSeconds: number },
    vs?: { blocksPerSecond: number; linksPerSecond: number },
  ) => {
    const bps = rate(r.blocks, r.blocksSeconds);
    const lps = rate(r.links, r.linksSeconds);
    return [
      store,
      method,
      r.blocks,
      r.links,
      round(r.blocksSeconds, 1),
      round(r.linksSeconds, 1),
      bps,
      lps,
      vs ? `${round(bps / vs.blocksPerSecond, 1)}× / ${round(lps / vs.linksPerSecond, 1)}×` : '1×',
    ];
  };
  const fromReport = (r: ImportReport) => ({
    blocks: r.blocks.accepted,
    links: r.links.accepted,
    blocksSeconds: r.timing.blocksSeconds,
    linksSeconds: r.timing.linksSeconds,
  });
  const naiveSampleRates = {
    blocksPerSecond: rate(naiveSampleRun.blocks, naiveSampleRun.blocksSeconds),
    linksPerSecond: rate(naiveSampleRun.links, naiveSampleRun.linksSeconds),
  };
  const naiveGenRates = {
    blocksPerSecond: rate(naiveGenRun.blocks, naiveGenRun.blocksSeconds),
    linksPerSecond: rate(naiveGenRun.links, naiveGenRun.linksSeconds),
  };
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
      importRow(
        `generated (${BLOCKS.toLocaleString('en')} blocks)`,
        `batched (${genReport.options.batchSize}/tx)`,
        fromReport(genReport),
        naiveGenRates,
      ),
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

  const bareTable = againstBareTable([genRun, textRun], profile);

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
  await api.runs.addSteps({
    runId: run.id,
    steps: chain.map((id, i) => ({ id, parentId: i === 0 ? root.id : chain[i - 1]!, name: `step ${i + 1}` })),
  });
  const deepest = chain.at(-1)!;
  const depth = (await api.runs.pathToRoot({ stepId: deepest })).steps.length - 1;
  if (depth !== 50) throw new Error(`expected depth 50, got ${depth}`);
  const path = await latency(200, () => api.runs.pathToRoot({ stepId: deepest }));
  const blocksInGraph = (
    await graph.driver.executeQuery('MATCH (b:Block) RETURN count(b) AS n', {}, { database: graph.database })
  ).records[0]!.get('n') as number;

  const latencyTable: BenchTable = {
    title: `Read latency with ${BLOCKS.toLocaleString('en')} generated blocks loaded (in-process tRPC caller: zod in and out, auto-commit read statements)`,
    columns: ['operation', 'samples', 'p50 ms', 'p95 ms', 'target p95', 'result'],
    rows: [
      ['blocks.get by id', 1_000, get.p50, get.p95, '< 5 ms', get.p95 < 5 ? 'met' : 'NOT met'],
      ['search.fullText (1–2 words, limit 20)', 300, ft.p50, ft.p95, '< 20 ms', ft.p95 < 20 ? 'met' : 'NOT met'],
      ['runs.pathToRoot at depth 50', 200, path.p50, path.p95, '-', '-'],
    ],
    notes: [
      `Blocks in the graph during the measurement: ${blocksInGraph.toLocaleString('en')} (the shared database also holds other tests' data).`,
    ],
  };
  return [importTable, bareTable, latencyTable];
}

type BareRun = Awaited<ReturnType<typeof againstBare>>;

function againstBareTable(runs: BareRun[], profile: ReturnType<typeof measureTextProfile>): BenchTable {
  const pct = (n: number, of: number) => `${round((100 * n) / of, 2)} %`;
  const mb = (chars: number) => round(chars / 1e6, 1);
  const rows = runs.map(({ name, limit, report, memory }) => {
    const bareBps = limit.blocksPerSecond;
    const bareLps = limit.linksPerSecond;
    const bps = report.timing.blocksPerSecond;
    const lps = report.timing.linksPerSecond;
    const ratio = Math.min(bps / bareBps, lps / bareLps);
    return [
      name,
      bareBps,
      bareLps,
      bps,
      lps,
      `${round(bps / bareBps, 2)} / ${round(lps / bareLps, 2)}`,
      '≥ 0.5',
      ratio >= 0.5 ? 'met' : 'NOT met',
      `RSS ${memory.peakMiB} MiB (start ${memory.startMiB}), heap ${memory.heapPeakMiB} MiB (start ${memory.heapStartMiB})`,
    ];
  });
  const bareRates = (r: BareRun['before']) => `${rate(r.blocks, r.blocksSeconds)} blocks/s and ${rate(r.links, r.linksSeconds)} links/s`;
  const describe = ({ name, store, before, after }: BareRun) =>
    `${name}: ${store.blocks.toLocaleString('en')} blocks, ${store.links.toLocaleString('en')} links, ${mb(store.contentChars)} M characters of content, ${store.longContents} contents over 100,000 characters (${pct(store.longContents, store.blocks)}). Bare load before the importer ${bareRates(before)}, after it ${bareRates(after)}.`;
  return {
    title: 'Legacy import against a bare UNWIND … CREATE load of the same rows (same run)',
    columns: [
      'store',
      'bare blocks/s',
      'bare links/s',
      'importer blocks/s',
      'importer links/s',
      'ratio (blocks / links)',
      'target',
      'result',
      'importer peak memory',
    ],
    rows,
    notes: [
      ...runs.map(describe),
      `The text-heavy store follows the sample (${profile.blocks.toLocaleString('en')} blocks, ${mb(profile.contentChars)} M characters, ${profile.longContents} contents over 100,000 characters = ${pct(profile.longContents, profile.blocks)}, ${round(profile.linksPerBlock, 3)} links per block): content lengths are drawn from the sample's own, words are fresh random letters (a vocabulary that grows with the store, as in the sample); the small-vocabulary store draws 30–80 words from 5,000.`,
      'Bare load: the SQLite rows as read (no cleaning, no MERGE, no datetime parsing) into a scratch label with a unique constraint on id, range indexes on session, status, idea and created_at, and the full-text index on title and content; links by two id seeks and CREATE of one relationship type. Same batch size and block batches in flight as the importer; run just before and just after the importer (each dropped again at once), the bare rates in the table being the mean of the two. Links/s counts every link row for the bare load and the valid rows for the importer.',
      "Importer links: batched per relationship type, one static-type MERGE per 2,000-row transaction (mixed batches took eleven statements each and ran at 0.37–0.54 of bare in earlier runs, per-type batches at 0.44–0.96), two writes at once (never two of one type) with up to four batches queued behind them; the bare load writes the rows mixed, one CREATE per batch, one at a time. What is left between the two is the MERGE and the importer's eleven properties per link against four (README, import section).",
      'The result is met when both the blocks and the links ratio are at least 0.5. Peak memory is the importer process while importing (sampled every 50 ms): it does not grow with the store.',
    ],
  };
}

async function cleanup(g: Graph): Promise<void> {
  for (const drop of scratch) await drop();
  for (const p of prefixes) {
    const t = performance.now();
    const n = await deleteTagged(g, p);
    say(`cleanup ${p}: ${n} blocks deleted in ${Math.round(performance.now() - t)} ms`);
  }
  for (const remove of tempDirs) remove();
}

try {
  const tables = ONLY_RECORDER ? [] : await main();
  if (!ONLY_BARE) {
    say(`run recorder: ${RECORDER_JOBS} jobs' events, one at a time, then at the default concurrency`);
    tables.push(await benchRecorder(graph, log, RECORDER_JOBS));
  }
  if (ONLY_BARE || ONLY_RECORDER) tables.forEach(printTable);
  else writeBenchResult('knowledge', tables);
} finally {
  await cleanup(graph);
  await graph.driver.close();
}
