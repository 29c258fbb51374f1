import { BlockType, RelationshipType } from '@platform/contracts';
import type { ManagedTransaction } from 'neo4j-driver';
import type { Graph } from './neo4j.js';
import { readGraph, writeTx } from './neo4j.js';

/*
 * Bulk writes and checks of the legacy importer: one transaction per batch, UNWIND, MERGE on the
 * block id (and on (source, type, target) for links) so a second run creates nothing. Labels and
 * relationship types only ever come from the allow-lists; row values are checked against them
 * here, again, before anything is sent.
 */

export interface ImportBlockRow {
  id: string;
  type: BlockType;
  createdAt: string;
  updatedAt: string;
  validFrom: string;
  validTo: string | null;
  /** Plain properties set on creation (strings, numbers, string lists, nulls). */
  props: Record<string, unknown>;
}

export interface ImportLinkRow {
  sourceId: string;
  targetId: string;
  type: RelationshipType;
  createdAt: string;
  props: Record<string, unknown>;
}

/**
 * A bulk import grows the graph fast, and Neo4j replans a cached query whenever the label's
 * statistics have moved by more than a threshold: during an import that is every few batches, per
 * statement (eleven link statements). These plans are unique-index seeks whatever the statistics
 * say, so replanning only costs time: `replan=skip` keeps the cached plan (measured: link batches
 * at 1.2–1.5× the rate without it, pipelined; README, import section).
 */
const KEEP_PLAN = 'CYPHER replan=skip';

function groupBy<T, K extends string>(rows: T[], key: (r: T) => K, allowed: readonly string[], what: string): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const r of rows) {
    const k = key(r);
    if (!allowed.includes(k)) throw new Error(`refusing ${what} ${JSON.stringify(k)}: not in the allow-list`);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return groups;
}

/**
 * Returns how many nodes this batch created (the rest already existed). One statement for all
 * types: the label is set with Neo4j 5.26's dynamic `$(…)` (safe for planning here: the MERGE is a
 * unique-index seek), from values checked against the allow-list first.
 */
export function mergeBlockBatch(g: Graph, rows: ImportBlockRow[], importRun: string): Promise<{ created: number }> {
  for (const r of rows)
    if (!BlockType.options.includes(r.type)) throw new Error(`refusing label ${JSON.stringify(r.type)}: not in the allow-list`);
  return writeTx(g, 'import.blocks', async (tx) => {
    const res = await tx.run(
      `${KEEP_PLAN}
       UNWIND $rows AS r
       MERGE (b:Block {id: r.id})
       ON CREATE SET b:$(r.type), b += r.props, b.version = 1, b.importRun = $importRun,
         b.createdAt = datetime(r.createdAt), b.updatedAt = datetime(r.updatedAt),
         b.validFrom = datetime(r.validFrom), b.validTo = CASE WHEN r.validTo IS NULL THEN null ELSE datetime(r.validTo) END`,
      { rows, importRun },
    );
    return { created: res.summary.counters.updates().nodesCreated };
  });
}

/**
 * Links whose endpoints both exist. `created` comes from the counters; `inRun` counts rows that
 * resolved to a relationship created by this run, so `inRun - created` are duplicates collapsed
 * within the run and `matched - inRun` relationships that an earlier run had created.
 *
 * One statement per relationship type: with the type static the MERGE is planned as an expand
 * between the two bound nodes (a dynamic `$(r.type)` MERGE ran at a fifth of the rate; FOREACH/CASE
 * or a chain of per-type CALL subqueries over all types in one statement, and CALL { … UNION … },
 * measured slower than separate statements). The importer batches links per type
 * (import-links.ts), so a batch is one statement: eleven statements per mixed batch ran at 0.6 of
 * the rate of one statement over the same rows under load (1.0 on a quiet machine). Rows of
 * several types still work, their statements pipelined in the one transaction. The MERGE returns only its row count: reading `l.importRun`
 * after setting it makes Neo4j buffer every row first (an Eager); without it the statements ran
 * 1.0–1.2× as fast on a quiet machine and 1.5–2× under load (interleaved, same batches). So
 * `inRun` is asked for afterwards, and only for the types where some row met an existing
 * relationship (where every matched row created one, `inRun` is `created`). README, import section.
 */
export function mergeLinkBatch(
  g: Graph,
  rows: ImportLinkRow[],
  importRun: string,
): Promise<{ created: number; matched: number; inRun: number }> {
  const byType = groupBy(rows, (r) => r.type, RelationshipType.options, 'relationship type');
  return writeTx(g, 'import.links', async (tx) => {
    const merged = await Promise.all(
      [...byType].map(async ([type, group]) => {
        const res = await tx.run(
          `${KEEP_PLAN}
           UNWIND $rows AS r
           MATCH (a:Block {id: r.sourceId})
           MATCH (b:Block {id: r.targetId})
           MERGE (a)-[l:${type}]->(b)
           ON CREATE SET l += r.props, l.importRun = $importRun, l.createdAt = datetime(r.createdAt)
           RETURN count(*) AS matched`,
          { rows: group, importRun },
        );
        const matched = (res.records[0]?.get('matched') as number | undefined) ?? 0;
        return { type, group, matched, created: res.summary.counters.updates().relationshipsCreated };
      }),
    );
    const inRun = await Promise.all(merged.map((m) => (m.matched === m.created ? m.created : linksOfRun(tx, m.type, m.group, importRun))));
    return {
      created: merged.reduce((n, m) => n + m.created, 0),
      matched: merged.reduce((n, m) => n + m.matched, 0),
      inRun: inRun.reduce((n, i) => n + i, 0),
    };
  });
}

/** How many of the rows resolve to a relationship of `type` that this run created (now or in an earlier batch). */
async function linksOfRun(tx: ManagedTransaction, type: RelationshipType, rows: ImportLinkRow[], importRun: string): Promise<number> {
  const res = await tx.run(
    `${KEEP_PLAN}
     UNWIND $rows AS r
     MATCH (:Block {id: r.sourceId})-[l:${type}]->(:Block {id: r.targetId})
     RETURN sum(CASE WHEN l.importRun = $importRun THEN 1 ELSE 0 END) AS inRun`,
    { rows: rows.map((r) => ({ sourceId: r.sourceId, targetId: r.targetId })), importRun },
  );
  return (res.records[0]?.get('inRun') as number | undefined) ?? 0;
}

/** For each expected (id, type): the type label the graph holds, or null when the block is absent. */
export function blockLabels(
  g: Graph,
  rows: Array<{ id: string; type: BlockType }>,
): Promise<Array<{ expected: BlockType; actual: BlockType | null; n: number }>> {
  return readGraph(g, 'import.checkBlocks', async (tx) => {
    const res = await tx.run(
      `UNWIND $rows AS r
       OPTIONAL MATCH (b:Block {id: r.id})
       WITH r.type AS expected, [l IN labels(b) WHERE l IN $types][0] AS actual
       RETURN expected, actual, count(*) AS n`,
      { rows, types: BlockType.options },
    );
    return res.records.map((r) => ({
      expected: r.get('expected') as BlockType,
      actual: (r.get('actual') as BlockType | null) ?? null,
      n: r.get('n') as number,
    }));
  });
}

/** How many of the given link rows have their relationship in the graph, per type. */
export function linksPresent(
  g: Graph,
  rows: Array<{ sourceId: string; targetId: string; type: RelationshipType }>,
): Promise<Array<{ type: RelationshipType; present: number }>> {
  return readGraph(g, 'import.checkLinks', async (tx) => {
    const res = await tx.run(
      `UNWIND $rows AS r
       OPTIONAL MATCH (:Block {id: r.sourceId})-[l]->(:Block {id: r.targetId}) WHERE type(l) = r.type
       WITH r, count(l) > 0 AS present
       RETURN r.type AS type, sum(CASE WHEN present THEN 1 ELSE 0 END) AS present`,
      // The row index keeps identical (duplicate) rows apart when grouping by r.
      { rows: rows.map((r, i) => ({ i, sourceId: r.sourceId, targetId: r.targetId, type: r.type })) },
    );
    return res.records.map((r) => ({ type: r.get('type') as RelationshipType, present: r.get('present') as number }));
  });
}

/** Every stored property of the given blocks, datetimes as ISO strings, plus the type label. */
export function blocksForSpotCheck(g: Graph, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  return readGraph(g, 'import.spotCheck', async (tx) => {
    const res = await tx.run(
      `UNWIND $ids AS id
       MATCH (b:Block {id: id})
       RETURN b {.*, createdAt: toString(b.createdAt), updatedAt: toString(b.updatedAt), validFrom: toString(b.validFrom),
         validTo: toString(b.validTo), type: [l IN labels(b) WHERE l IN $types][0]} AS block`,
      { ids, types: BlockType.options },
    );
    return new Map(
      res.records.map((r) => {
        const b = r.get('block') as Record<string, unknown>;
        return [b['id'] as string, b];
      }),
    );
  });
}
