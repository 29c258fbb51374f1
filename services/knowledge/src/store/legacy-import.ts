import { BlockType, RelationshipType } from '@platform/contracts';
import type { Graph } from './neo4j.js';
import { readTx, writeTx } from './neo4j.js';

/*
 * Bulk writes and checks of the legacy importer: one transaction per batch, one UNWIND statement
 * per type label (or relationship type) in it, MERGE on the block id (and on (source, type,
 * target) for links) so a second run creates nothing. Labels and types are interpolated, so they
 * are checked against the allow-lists here, again, before anything is sent. (Neo4j 5.26's dynamic
 * `$(…)` types were tried: with a dynamic relationship type the planner sometimes picks a scan of
 * every relationship in the database for the MERGE.)
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

function groupBy<T, K extends string>(rows: T[], key: (r: T) => K, allowed: readonly string[], what: string): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const r of rows) {
    const k = key(r);
    if (!allowed.includes(k)) throw new Error(`refusing ${what} ${JSON.stringify(k)}: not in the allow-list`);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return groups;
}

/** Returns how many nodes this batch created (the rest already existed). */
export function mergeBlockBatch(g: Graph, rows: ImportBlockRow[], importRun: string): Promise<{ created: number }> {
  const byType = groupBy(rows, (r) => r.type, BlockType.options, 'label');
  return writeTx(g, 'import.blocks', async (tx) => {
    let created = 0;
    for (const [type, group] of byType) {
      const res = await tx.run(
        `UNWIND $rows AS r
         MERGE (b:Block {id: r.id})
         ON CREATE SET b:${type}, b += r.props, b.version = 1, b.importRun = $importRun,
           b.createdAt = datetime(r.createdAt), b.updatedAt = datetime(r.updatedAt),
           b.validFrom = datetime(r.validFrom), b.validTo = CASE WHEN r.validTo IS NULL THEN null ELSE datetime(r.validTo) END`,
        { rows: group, importRun },
      );
      created += res.summary.counters.updates().nodesCreated;
    }
    return { created };
  });
}

/**
 * Links whose endpoints both exist. `created` comes from the counters; `inRun` counts rows that
 * resolved to a relationship created by this run, so `inRun - created` are duplicates collapsed
 * within the run and `matched - inRun` relationships that an earlier run had created.
 */
export function mergeLinkBatch(g: Graph, rows: ImportLinkRow[], importRun: string): Promise<{ created: number; matched: number; inRun: number }> {
  const byType = groupBy(rows, (r) => r.type, RelationshipType.options, 'relationship type');
  return writeTx(g, 'import.links', async (tx) => {
    const out = { created: 0, matched: 0, inRun: 0 };
    for (const [type, group] of byType) {
      const res = await tx.run(
        `UNWIND $rows AS r
         MATCH (a:Block {id: r.sourceId})
         MATCH (b:Block {id: r.targetId})
         MERGE (a)-[l:${type}]->(b)
         ON CREATE SET l += r.props, l.importRun = $importRun, l.createdAt = datetime(r.createdAt)
         RETURN count(l) AS matched, sum(CASE WHEN l.importRun = $importRun THEN 1 ELSE 0 END) AS inRun`,
        { rows: group, importRun },
      );
      const rec = res.records[0];
      out.created += res.summary.counters.updates().relationshipsCreated;
      out.matched += (rec?.get('matched') as number | undefined) ?? 0;
      out.inRun += (rec?.get('inRun') as number | undefined) ?? 0;
    }
    return out;
  });
}

/** For each expected (id, type): the type label the graph holds, or null when the block is absent. */
export function blockLabels(g: Graph, rows: Array<{ id: string; type: BlockType }>): Promise<Array<{ expected: BlockType; actual: BlockType | null; n: number }>> {
  return readTx(g, 'import.checkBlocks', async (tx) => {
    const res = await tx.run(
      `UNWIND $rows AS r
       OPTIONAL MATCH (b:Block {id: r.id})
       WITH r.type AS expected, [l IN labels(b) WHERE l IN $types][0] AS actual
       RETURN expected, actual, count(*) AS n`,
      { rows, types: BlockType.options },
    );
    return res.records.map((r) => ({ expected: r.get('expected') as BlockType, actual: (r.get('actual') as BlockType | null) ?? null, n: r.get('n') as number }));
  });
}

/** How many of the given link rows have their relationship in the graph, per type. */
export function linksPresent(g: Graph, rows: Array<{ sourceId: string; targetId: string; type: RelationshipType }>): Promise<Array<{ type: RelationshipType; present: number }>> {
  return readTx(g, 'import.checkLinks', async (tx) => {
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
  return readTx(g, 'import.spotCheck', async (tx) => {
    const res = await tx.run(
      `UNWIND $ids AS id
       MATCH (b:Block {id: id})
       RETURN b {.*, createdAt: toString(b.createdAt), updatedAt: toString(b.updatedAt), validFrom: toString(b.validFrom),
         validTo: toString(b.validTo), type: [l IN labels(b) WHERE l IN $types][0]} AS block`,
      { ids, types: BlockType.options },
    );
    return new Map(res.records.map((r) => {
      const b = r.get('block') as Record<string, unknown>;
      return [b['id'] as string, b];
    }));
  });
}
