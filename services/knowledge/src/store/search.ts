import type { BlockStatus, BlockType, RelationshipType } from '@platform/contracts';
import neo4j from 'neo4j-driver';
import { blockProjection, toBlockRecord, type BlockRecord } from './block-record.js';
import type { Graph } from './neo4j.js';
import { readTx } from './neo4j.js';

export interface SearchFilter {
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

function filterClause(f: SearchFilter): string {
  const where = ['b.status IN $statuses'];
  if (f.types?.length) where.push(`any(l IN labels(b) WHERE l IN $types)`);
  if (f.sessionId !== undefined) where.push('b.sessionId = $sessionId');
  return `WHERE ${where.join(' AND ')}`;
}

const filterParams = (f: SearchFilter) => ({ statuses: f.statuses, types: f.types ?? [], sessionId: f.sessionId ?? null });

/** `luceneQuery` must already be escaped (see domain/search-query.ts): it is parsed by Lucene. */
export function fullTextSearch(g: Graph, luceneQuery: string, f: SearchFilter, limit: number): Promise<ScoredBlock[]> {
  return readTx(g, 'search.fullText', async (tx) => {
    const res = await tx.run(
      `CALL db.index.fulltext.queryNodes('${FULLTEXT_INDEX}', $query) YIELD node AS b, score
       ${filterClause(f)}
       RETURN ${blockProjection('b')} AS block, score
       ORDER BY score DESC, block.id LIMIT $limit`,
      { query: luceneQuery, ...filterParams(f), limit: neo4j.int(limit) },
    );
    return res.records.map((r) => ({ block: toBlockRecord(r.get('block')), score: r.get('score') as number }));
  });
}

/**
 * Nearest neighbours by cosine similarity (Neo4j reports it as (1 + cos) / 2, in 0..1). The index
 * returns the k nearest before filters apply, so it is asked for more than `limit` when filtering.
 */
export function vectorSearch(g: Graph, embedding: number[], f: SearchFilter, limit: number): Promise<ScoredBlock[]> {
  const k = Math.min(1_000, Math.max(100, limit * 10));
  return readTx(g, 'search.vector', async (tx) => {
    const res = await tx.run(
      `CALL db.index.vector.queryNodes('${VECTOR_INDEX}', $k, $embedding) YIELD node AS b, score
       ${filterClause(f)}
       RETURN ${blockProjection('b')} AS block, score
       ORDER BY score DESC, block.id LIMIT $limit`,
      { k: neo4j.int(k), embedding, ...filterParams(f), limit: neo4j.int(limit) },
    );
    return res.records.map((r) => ({ block: toBlockRecord(r.get('block')), score: r.get('score') as number }));
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

/** One hop out from the seeds along allow-listed relationships, to blocks passing the filter. */
export function expandOneHop(g: Graph, seedIds: string[], types: RelationshipType[], f: SearchFilter, perSeed: number): Promise<Expansion[]> {
  return readTx(g, 'search.expand', async (tx) => {
    const res = await tx.run(
      `UNWIND $seeds AS sid
       MATCH (s:Block {id: sid})-[r]-(b:Block)
       WHERE type(r) IN $relTypes AND b.id <> sid
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
