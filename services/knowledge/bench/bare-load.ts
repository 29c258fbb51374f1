import neo4j from 'neo4j-driver';
import { randomBytes } from 'node:crypto';
import { Batcher } from '../src/import/batcher.js';
import { openLegacySource } from '../src/import/sqlite-source.js';
import type { Graph } from '../src/store/neo4j.js';

/*
 * The limit the importer is measured against (issue 16): the same SQLite rows, streamed the same
 * way, written with a bare `UNWIND $rows AS r CREATE …` into a scratch label of their own — no
 * cleaning, no MERGE, no datetime parsing — with only what the graph needs: a unique constraint
 * on the id, the range indexes the Block label has for the same columns, and the full-text index
 * on title and content. Same batch size and the same number of block batches in flight as the
 * importer; links one batch at a time, as there. The scratch label, its indexes and its nodes are
 * dropped again by `drop()`.
 */

/** SQLite's dynamic typing hands over bigints for large integers; Neo4j parameters need numbers. */
const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);

export interface BareLoad {
  label: string;
  load(
    file: string,
    opts: { batchSize: number; blockWriters: number },
  ): Promise<{ blocks: number; links: number; blocksSeconds: number; linksSeconds: number }>;
  drop(): Promise<void>;
}

/** Deletes every node of a scratch label, 5,000 per transaction. */
async function deleteNodes(graph: Graph, label: string): Promise<void> {
  const session = graph.driver.session({ database: graph.database });
  try {
    // CALL { … } IN TRANSACTIONS needs an auto-commit statement: session.run, not a managed transaction.
    await session.run(`MATCH (n:${label}) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS`);
  } finally {
    await session.close();
  }
}

/**
 * Drops what an interrupted run left: every `BareBlock_*` label's nodes and every `bare_*` index or
 * constraint (a scratch label's full-text index would otherwise stay in the store for good).
 */
export async function dropLeftoverBareLoads(graph: Graph): Promise<string[]> {
  const q = (cypher: string) => graph.driver.executeQuery(cypher, {}, { database: graph.database });
  const labels = (await q('CALL db.labels() YIELD label RETURN label')).records
    .map((r) => r.get('label') as string)
    .filter((l) => /^BareBlock_[0-9a-f]{8}$/.test(l));
  for (const label of labels) await deleteNodes(graph, label);
  const constraints = (await q('SHOW CONSTRAINTS YIELD name RETURN name')).records.map((r) => r.get('name') as string);
  for (const name of constraints.filter((n) => /^bare_[0-9a-f]{8}_/.test(n))) await q(`DROP CONSTRAINT ${name} IF EXISTS`);
  const indexes = (await q('SHOW INDEXES YIELD name RETURN name')).records.map((r) => r.get('name') as string);
  for (const name of indexes.filter((n) => /^bare_[0-9a-f]{8}_/.test(n))) await q(`DROP INDEX ${name} IF EXISTS`);
  return labels;
}

/** `fulltext: false` leaves the full-text index out: only to measure what the index costs. */
export async function bareLoad(graph: Graph, opts: { fulltext?: boolean } = {}): Promise<BareLoad> {
  const tag = randomBytes(4).toString('hex');
  const label = `BareBlock_${tag}`;
  const names = {
    unique: `bare_${tag}_id`,
    fulltext: `bare_${tag}_fulltext`,
    ranges: ['session_id', 'status', 'idea_id', 'created_at'].map((p) => [`bare_${tag}_${p}`, p] as const),
  };
  const q = (cypher: string, params: Record<string, unknown> = {}) =>
    graph.driver.executeQuery(cypher, params, { database: graph.database });
  await q(`CREATE CONSTRAINT ${names.unique} FOR (n:${label}) REQUIRE n.id IS UNIQUE`);
  for (const [name, prop] of names.ranges) await q(`CREATE INDEX ${name} FOR (n:${label}) ON (n.${prop})`);
  if (opts.fulltext !== false) await q(`CREATE FULLTEXT INDEX ${names.fulltext} FOR (n:${label}) ON EACH [n.title, n.content]`);
  await q('CALL db.awaitIndexes(300)');

  const write = (name: string, cypher: string) => async (rows: Array<Record<string, unknown>>) => {
    const session = graph.driver.session({ database: graph.database, defaultAccessMode: neo4j.session.WRITE });
    try {
      await session.executeWrite((tx) => tx.run(cypher, { rows }), { metadata: { app: name } });
    } finally {
      await session.close();
    }
  };

  return {
    label,
    async load(file, opts) {
      const source = openLegacySource(file);
      try {
        let blocks = 0;
        let links = 0;
        const t0 = performance.now();
        const blockWriter = new Batcher(
          opts.batchSize,
          write('bare.blocks', `UNWIND $rows AS r CREATE (b:${label}) SET b = r`),
          opts.blockWriters,
        );
        for (const row of source.blocks()) {
          // The row as SQLite returns it, minus the join's helper columns.
          const { session_created_at: _s, session_known: _k, ...raw } = row;
          await blockWriter.push(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, plain(v)])));
          blocks++;
        }
        await blockWriter.flush();
        const blocksSeconds = (performance.now() - t0) / 1000;
        const t1 = performance.now();
        const linkWriter = new Batcher(
          opts.batchSize,
          write(
            'bare.links',
            `UNWIND $rows AS r MATCH (a:${label} {id: r.source}) MATCH (b:${label} {id: r.target}) CREATE (a)-[:BARE_LINK {type: r.type, confidence: r.confidence, reason: r.reason, createdAt: r.createdAt}]->(b)`,
          ),
        );
        for (const row of source.links()) {
          await linkWriter.push({
            source: row.source_block_id,
            target: row.target_block_id,
            type: row.link_type,
            confidence: plain(row.confidence),
            reason: row.reason,
            createdAt: plain(row.created_at),
          });
          links++;
        }
        await linkWriter.flush();
        return { blocks, links, blocksSeconds, linksSeconds: (performance.now() - t1) / 1000 };
      } finally {
        source.close();
      }
    },
    async drop() {
      await deleteNodes(graph, label);
      for (const name of [names.fulltext, ...names.ranges.map(([n]) => n), names.unique])
        await q(`DROP ${name === names.unique ? 'CONSTRAINT' : 'INDEX'} ${name} IF EXISTS`);
    },
  };
}
