import type { BlockStatus, BlockType, RelationshipType } from '@platform/contracts';
import neo4j from 'neo4j-driver';
import { blockProjection, toBlockRecord, type BlockRecord } from './block-record.js';
import type { Graph } from './neo4j.js';
import { readGraph } from './neo4j.js';
import { scopeParams, visible, type Scope } from './scope.js';

/** Every search filters by the caller's scope: hits are only ever blocks the caller may see. */
export interface SearchFilter {
  scope: Scope;
  types?: BlockType[] | undefined;
  sessionId?: string | undefined;
  statuses: BlockStatus[];
}

export interface ScoredBlock {
  block: BlockRecord;
  score: number;
}

const FULLTEXT_INDEX = 'block_fulltext';
const VECTOR_INDEX = 'block_embedding';

/** The filter as a boolean expression over the node bound to `v` (values are parameters). */
function filterExpr(f: SearchFilter, v = 'b'): string {
  const where = [`${v}.status IN $statuses`, visible(v)];
  if (f.types?.length) where.push(`any(l IN labels(${v}) WHERE l IN $types)`);
  if (f.sessionId !== undefined) where.push(`${v}.sessionId = $sessionId`);
  return where.join(' AND ');
}
const filterClause = (f: SearchFilter) => `WHERE ${filterExpr(f)}`;

const filterParams = (f: SearchFilter) => ({
  statuses: f.statuses,
  types: f.types ?? [],
  sessionId: f.sessionId ?? null,
  ...scopeParams(f.scope),
});

/**
 * `luceneQuery` must already be escaped (see domain/search-query.ts): it is parsed by Lucene.
 * Lucene is first asked for a bounded number of hits (a common word matches thousands of blocks);
 * only when the filters leave fewer than `limit` of a full first round is it asked for all of them.
 * Hits are cut to `limit` by score before the (large) block projection is built.
 */
export function fullTextSearch(g: Graph, luceneQuery: string, f: SearchFilter, limit: number): Promise<ScoredBlock[]> {
  return readGraph(g, 'search.fullText', async (tx) => {
    const run = async (luceneLimit: number | null) => {
      // Lucene yields hits best first; the list keeps that order, so the first `limit` that pass
      // the filter are the answer, and only those are projected. One row comes back in any case.
      const res = await tx.run(
        `CALL db.index.fulltext.queryNodes('${FULLTEXT_INDEX}', $query${luceneLimit === null ? '' : ', {limit: $luceneLimit}'}) YIELD node, score
         WITH collect({b: node, score: score}) AS hits
         WITH size(hits) AS total, [h IN hits WHERE ${filterExpr(f, 'h.b')}][0..$limit] AS top
         UNWIND CASE WHEN size(top) = 0 THEN [null] ELSE top END AS h
         WITH total, h.b AS b, h.score AS score
         RETURN total, CASE WHEN b IS NULL THEN null ELSE ${blockProjection('b')} END AS block, score`,
        { query: luceneQuery, luceneLimit: neo4j.int(luceneLimit ?? 0), ...filterParams(f), limit: neo4j.int(limit) },
      );
      const total = (res.records[0]?.get('total') as number | undefined) ?? 0;
      const hits = res.records
        .filter((r) => r.get('block') !== null)
        .map((r) => ({ block: toBlockRecord(r.get('block')), score: r.get('score') as number }));
      return { total, hits };
    };
    const firstRound = Math.max(100, limit * 10);
    const first = await run(firstRound);
    if (first.hits.length >= limit || first.total < firstRound) return first.hits;
    return (await run(null)).hits;
  });
}

/**
 * Nearest neighbours by cosine similarity (Neo4j reports it as (1 + cos) / 2, in 0..1). The index
 * returns the k nearest of ALL blocks before the caller's scope and filters apply, so a caller who
 * owns few blocks among many others' could get fewer than `limit` hits, or none. So: the index is
 * asked for more than `limit`; when the filters leave fewer than `limit` of a full round (there may
 * be visible blocks further out), the answer is computed exactly over the blocks that pass the
 * filters instead (a scan of the caller's blocks, scored with the same similarity function).
 */
export function vectorSearch(g: Graph, embedding: number[], f: SearchFilter, limit: number): Promise<ScoredBlock[]> {
  const k = Math.min(1_000, Math.max(100, limit * 10));
  return readGraph(g, 'search.vector', async (tx) => {
    const params = { k: neo4j.int(k), embedding, ...filterParams(f), limit: neo4j.int(limit) };
    const indexed = await tx.run(
      `CALL db.index.vector.queryNodes('${VECTOR_INDEX}', $k, $embedding) YIELD node, score
       WITH collect({b: node, score: score}) AS hits
       WITH size(hits) AS total, [h IN hits WHERE ${filterExpr(f, 'h.b')}][0..$limit] AS top
       UNWIND CASE WHEN size(top) = 0 THEN [null] ELSE top END AS h
       WITH total, h.b AS b, h.score AS score
       RETURN total, CASE WHEN b IS NULL THEN null ELSE ${blockProjection('b')} END AS block, score`,
      params,
    );
    const total = neo4j.integer.toNumber((indexed.records[0]?.get('total') as number | undefined) ?? 0);
    const hits = indexed.records
      .filter((r) => r.get('block') !== null)
      .map((r) => ({ block: toBlockRecord(r.get('block')), score: r.get('score') as number }));
    if (hits.length >= limit || total < k) return hits;
    const exact = await tx.run(
      `MATCH (b:Block) WHERE b.embedding IS NOT NULL AND ${filterExpr(f)}
       WITH b, vector.similarity.cosine(b.embedding, $embedding) AS score
       ORDER BY score DESC, b.id LIMIT $limit
       RETURN ${blockProjection('b')} AS block, score`,
      params,
    );
    return exact.records.map((r) => ({ block: toBlockRecord(r.get('block')), score: r.get('score') as number }));
  });
}

export interface Expansion {
  seedId: string;
  type: RelationshipType;
  /** True when the link points from the seed to the neighbour. */
  outgoing: boolean;
  confidence: number | null;
  block: BlockRecord;
}

/** One hop out from the seeds along allow-listed relationships the caller sees, to blocks passing the filter. */
export function expandOneHop(
  g: Graph,
  seedIds: string[],
  types: RelationshipType[],
  f: SearchFilter,
  perSeed: number,
): Promise<Expansion[]> {
  return readGraph(g, 'search.expand', async (tx) => {
    const res = await tx.run(
      `UNWIND $seeds AS sid
       MATCH (s:Block {id: sid})-[r]-(b:Block)
       WHERE type(r) IN $relTypes AND b.id <> sid AND ${visible('r')}
       WITH sid, r, b, s ${filterClause(f)}
       WITH sid, r, b, s ORDER BY coalesce(r.confidence, 0.5) DESC, b.id
       WITH sid, collect({r: r, b: b, out: startNode(r) = s})[0..$perSeed] AS hits
       UNWIND hits AS h
       WITH sid, h.r AS r, h.b AS b, h.out AS out
       RETURN sid AS seedId, type(r) AS type, out AS outgoing, r.confidence AS confidence, ${blockProjection('b')} AS block`,
      { seeds: seedIds, relTypes: types, ...filterParams(f), perSeed: neo4j.int(perSeed) },
    );
    return res.records.map((r) => ({
      seedId: r.get('seedId') as string,
      type: r.get('type') as RelationshipType,
      outgoing: r.get('outgoing') as boolean,
      confidence: (r.get('confidence') as number | null) ?? null,
      block: toBlockRecord(r.get('block')),
    }));
  });
}
