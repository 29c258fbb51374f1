import { RelationshipType } from '@platform/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { storeEnv } from '@platform/testkit';
import { graphSettings, loadGraphConfig } from '../src/config.js';
import { cleanLink } from '../src/import/clean.js';
import { importLegacy } from '../src/import/importer.js';
import { toImportLinkRow } from '../src/import/rows.js';
import { openLegacySource } from '../src/import/sqlite-source.js';
import { mergeLinkBatch, type ImportLinkRow } from '../src/store/legacy-import.js';
import { connectGraph, writeTx } from '../src/store/neo4j.js';
import { bootstrapSchema } from '../src/store/schema.js';
import { deleteTagged } from '../test/support/cleanup.js';
import { alice } from '../test/support/harness.js';
import { FIXTURE } from '../test/support/legacy-copy.js';
import { generateLegacyStore } from './generate.js';
import { measureTextProfile } from './text-profile.js';

/*
 * Investigation tool (issue 16 item 1; README, "Where the import's time goes"): link-write
 * statements side by side on the same batches. Imports a generated store, deletes its links, then
 * for every 2,000-row batch runs each variant in its own committed transaction (order rotating per
 * batch) and deletes what it created before the next one, so each variant meets the same graph.
 * The first batch (statement compilation) is left out. Prints links/s per variant.
 *   npx tsx --conditions=@platform/source services/knowledge/bench/link-variants.ts [--blocks 8000]
 *     [--only current,bare,…] [--small: small-vocabulary store] [--keyed: one type per batch, as
 *     the importer batches] [--profile: PROFILE db hits of the importer's and the bare statement]
 * Not part of `npm run bench`; writes nothing to .data/bench. Run it under flock /tmp/bench.lock.
 */

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const BLOCKS = Number(arg('blocks', '8000'));
const BATCH = Number(arg('batch', '2000'));
const say = (m: string) => process.stderr.write(`[variants] ${m}\n`);

const config = loadGraphConfig({ ...storeEnv(), ...process.env });
const graph = await connectGraph(graphSettings(config));
await bootstrapSchema(graph, { embeddingDimensions: config.EMBEDDING_DIMENSIONS });
const prefix = `bench${randomBytes(4).toString('hex')}`;
// --small: the small-vocabulary store (its blocks import faster; links are alike).
const store = generateLegacyStore({
  blocks: BLOCKS,
  prefix,
  seed: 5,
  ...(process.argv.includes('--small') ? {} : { text: measureTextProfile(FIXTURE) }),
});
const owner = { kind: alice.kind, id: alice.id };

const run = (cypher: string, params: Record<string, unknown>) =>
  writeTx(graph, 'variant', async (tx) => {
    const r = await tx.run(cypher, params);
    return r.summary.counters.updates().relationshipsCreated;
  });

type Variant = (rows: ImportLinkRow[], bare: Array<Record<string, unknown>>) => Promise<unknown>;
const byType = (rows: ImportLinkRow[]) => {
  const m = new Map<string, ImportLinkRow[]>();
  for (const r of rows) m.set(r.type, [...(m.get(r.type) ?? []), r]);
  return m;
};
const dedupe = (rows: ImportLinkRow[]) => {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = `${r.sourceId}|${r.type}|${r.targetId}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
};
const perType = (stmt: (type: string) => string) => (rows: ImportLinkRow[]) =>
  writeTx(graph, 'variant', (tx) =>
    Promise.all([...byType(rows)].map(([type, group]) => tx.run(stmt(type), { rows: group, importRun: 'x' }))),
  );

const ALL_PROPS = 'l += r.props, l.importRun = $importRun, l.createdAt = datetime(r.createdAt)';
const variants: Record<string, Variant> = {
  current: (rows) => mergeLinkBatch(graph, rows, randomUUID()),
  bare: (_rows, bare) =>
    run(
      `UNWIND $rows AS r MATCH (a:Block {id: r.source}) MATCH (b:Block {id: r.target}) CREATE (a)-[:BARE_LINK {type: r.type, confidence: r.confidence, reason: r.reason, createdAt: r.createdAt}]->(b)`,
      { rows: bare },
    ),
  mergeDyn: (rows) =>
    run(
      `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
       MERGE (a)-[l:$(r.type)]->(b) ON CREATE SET ${ALL_PROPS} RETURN count(*) AS n`,
      { rows, importRun: 'x' },
    ),
  createDyn: (rows) =>
    run(
      `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
       CREATE (a)-[l:$(r.type)]->(b) SET ${ALL_PROPS}`,
      { rows: dedupe(rows), importRun: 'x' },
    ),
  createTyped: perType(
    (type) => `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
       CREATE (a)-[l:${type}]->(b) SET ${ALL_PROPS}`,
  ),
  mergeFewProps: perType(
    (type) => `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
       MERGE (a)-[l:${type}]->(b) ON CREATE SET l.confidence = r.props.confidence, l.reason = r.props.reason, l.createdAt = r.createdAt RETURN count(*) AS n`,
  ),
  optCreateDyn: (rows) =>
    run(
      `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
       WHERE NOT EXISTS { (a)-[x]->(b) WHERE type(x) = r.type }
       CREATE (a)-[l:$(r.type)]->(b) SET ${ALL_PROPS}`,
      { rows: dedupe(rows), importRun: 'x' },
    ),
};
const SET_ONE = 'ON CREATE SET l += r.props, l.importRun = $importRun, l.createdAt = datetime(r.createdAt)';
const chain = (each: (t: string) => string) =>
  `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
   ${RelationshipType.options.map(each).join('\n   ')}
   RETURN count(*) AS n`;
variants['callChain'] = (rows) =>
  run(
    chain((t) => `CALL (r, a, b) { WITH * WHERE r.type = '${t}' MERGE (a)-[l:${t}]->(b) ${SET_ONE} }`),
    { rows, importRun: 'x' },
  );
variants['foreachChain'] = (rows) =>
  run(
    chain((t) => `FOREACH (_ IN CASE WHEN r.type = '${t}' THEN [1] ELSE [] END | MERGE (a)-[l:${t}]->(b) ${SET_ONE})`),
    {
      rows,
      importRun: 'x',
    },
  );
const typed = (stmt: (type: string) => string) => perType(stmt);
variants['mergeStrDate'] = typed(
  (t) => `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
   MERGE (a)-[l:${t}]->(b) ON CREATE SET l += r.props, l.importRun = $importRun, l.createdAt = r.createdAt RETURN count(*) AS n`,
);
variants['mergeNoSet'] = typed(
  (t) => `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
   MERGE (a)-[l:${t}]->(b) RETURN count(*) AS n`,
);
variants['createNoSet'] = typed(
  (t) => `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
   CREATE (a)-[l:${t}]->(b)`,
);
variants['mergeSetEach'] = typed(
  (t) => `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
   MERGE (a)-[l:${t}]->(b) ON CREATE SET l.legacyId = r.props.legacyId, l.confidence = r.props.confidence, l.reason = r.props.reason,
     l.degree = r.props.degree, l.legacyStatus = r.props.legacyStatus, l.originalType = r.props.originalType, l.importFlags = r.props.importFlags,
     l.createdBy = r.props.createdBy, l.ownerKind = r.props.ownerKind, l.ownerId = r.props.ownerId, l.teamId = r.props.teamId,
     l.importRun = $importRun, l.createdAt = datetime(r.createdAt) RETURN count(*) AS n`,
);
const COMMON = ['createdBy', 'ownerKind', 'ownerId', 'teamId'];
/** Rows as sent by a slimmer importer: no per-row constants, no nulls, no type (static per batch). */
const slim = (rows: ImportLinkRow[]) =>
  rows.map((r) => ({
    s: r.sourceId,
    t: r.targetId,
    c: r.createdAt,
    p: Object.fromEntries(Object.entries(r.props).filter(([k, v]) => v !== null && !COMMON.includes(k))),
  }));
const common = (rows: ImportLinkRow[]) => Object.fromEntries(COMMON.map((k) => [k, rows[0]!.props[k]]).filter(([, v]) => v !== null));
const perTypeSlim = (stmt: (type: string) => string) => (rows: ImportLinkRow[]) =>
  writeTx(graph, 'variant', (tx) =>
    Promise.all([...byType(rows)].map(([type, group]) => tx.run(stmt(type), { rows: slim(group), common: common(group), importRun: 'x' }))),
  );
variants['createNoSetSlim'] = perTypeSlim(
  (t) => `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.s}) MATCH (b:Block {id: r.t}) CREATE (a)-[l:${t}]->(b)`,
);
variants['mergeSlim'] = perTypeSlim(
  (t) => `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.s}) MATCH (b:Block {id: r.t})
   MERGE (a)-[l:${t}]->(b) ON CREATE SET l += r.p, l += $common, l.importRun = $importRun, l.createdAt = datetime(r.c) RETURN count(*) AS n`,
);
const only = arg('only', '');
const chosen = Object.keys(variants).filter((k) => !only || only.split(',').includes(k));

try {
  say(`importing ${BLOCKS} text-heavy blocks`);
  const report = await importLegacy(graph, { file: store.file, defaultSessionId: `${prefix}-default`, owner, spotCheck: 0 });
  say(`imported: ${report.links.accepted} links; deleting them`);
  const del = `UNWIND $rows AS r MATCH (:Block {id: r.sourceId})-[l]->(:Block {id: r.targetId}) DELETE l`;

  const source = openLegacySource(store.file);
  const batches: Array<{ rows: ImportLinkRow[]; bare: Array<Record<string, unknown>> }> = [];
  let cur: (typeof batches)[number] = { rows: [], bare: [] };
  const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
  for (const row of source.links()) {
    const c = cleanLink(row, { defaultSessionId: `${prefix}-default`, snapshotTime: source.modifiedAt, isRejectedBlock: () => false });
    if (!c.ok) continue;
    cur.rows.push(toImportLinkRow(c.link, owner));
    cur.bare.push({
      source: c.link.sourceId,
      target: c.link.targetId,
      type: row.link_type,
      confidence: plain(row.confidence),
      reason: row.reason,
      createdAt: plain(row.created_at),
    });
    if (cur.rows.length >= BATCH) {
      batches.push(cur);
      cur = { rows: [], bare: [] };
    }
  }
  if (cur.rows.length) batches.push(cur);
  if (process.argv.includes('--keyed')) {
    // One relationship type per batch, as the importer batches them.
    const all = batches.flatMap((b) => b.rows.map((r, i) => ({ r, bare: b.bare[i]! })));
    all.sort((x, y) => (x.r.type < y.r.type ? -1 : x.r.type > y.r.type ? 1 : 0));
    batches.length = 0;
    for (let i = 0; i < all.length; i += BATCH) {
      const part = all.slice(i, i + BATCH).filter((x, _, a) => x.r.type === a[0]!.r.type);
      batches.push({ rows: part.map((x) => x.r), bare: part.map((x) => x.bare) });
    }
  }
  source.close();
  for (const b of batches) await run(del, { rows: b.rows });

  if (process.argv.includes('--profile')) {
    // PROFILE of the importer's statement and the bare one on the same rows of one type, rolled back.
    const b = batches.find((x) => new Set(x.rows.map((r) => r.type)).size === 1) ?? batches[0]!;
    const type = b.rows[0]!.type;
    const statements = {
      importer: [
        `CYPHER replan=skip UNWIND $rows AS r MATCH (a:Block {id: r.sourceId}) MATCH (b:Block {id: r.targetId})
         MERGE (a)-[l:${type}]->(b) ON CREATE SET ${ALL_PROPS} RETURN count(*) AS matched`,
        { rows: b.rows.filter((r) => r.type === type), importRun: 'x' },
      ],
      bare: [
        `UNWIND $rows AS r MATCH (a:Block {id: r.source}) MATCH (b:Block {id: r.target}) CREATE (a)-[:BARE_LINK {type: r.type, confidence: r.confidence, reason: r.reason, createdAt: r.createdAt}]->(b)`,
        { rows: b.bare.filter((_, i) => b.rows[i]!.type === type) },
      ],
    } as const;
    type P = { operatorType: string; dbHits: number; rows: number; children: P[] };
    const lines = (p: P, d = 0): string[] => [
      `${'  '.repeat(d)}${p.operatorType} rows=${p.rows} dbHits=${p.dbHits}`,
      ...p.children.flatMap((c) => lines(c, d + 1)),
    ];
    for (const [name, [cypher, params]] of Object.entries(statements)) {
      const session = graph.driver.session({ database: graph.database });
      const tx = session.beginTransaction();
      const res = await tx.run(`PROFILE ${cypher.replace('CYPHER replan=skip ', '')}`, params);
      await tx.rollback();
      await session.close();
      const plan = res.summary.profile as unknown as P;
      const total = (p: P): number => p.dbHits + p.children.reduce((n, c) => n + total(c), 0);
      console.log(`${name}: ${params.rows.length} rows, ${total(plan)} db hits\n${lines(plan).join('\n')}`);
    }
  }
  const time: Record<string, number> = Object.fromEntries(chosen.map((k) => [k, 0]));
  let n = 0;
  for (const [i, b] of batches.entries()) {
    const order = chosen.map((_, j) => chosen[(i + j) % chosen.length]!);
    for (const name of order) {
      const t = performance.now();
      await variants[name]!(b.rows, b.bare);
      // The first batch compiles each statement: left out of the rates.
      if (i > 0) time[name]! += performance.now() - t;
      await run(del, { rows: b.rows });
    }
    if (i > 0) n += b.rows.length;
  }
  say(`${batches.length} batches, ${n} rows; types ${RelationshipType.options.length}`);
  for (const k of chosen) console.log(`${k.padEnd(14)} ${Math.round(n / (time[k]! / 1000))} links/s`);
} finally {
  say(`cleanup: ${await deleteTagged(graph, prefix)} blocks`);
  rmSync(store.dir, { recursive: true, force: true });
  await graph.driver.close();
}
