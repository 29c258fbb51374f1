import { RelationshipType, type BlockStatus, type BlockType, type Principal } from '@platform/contracts';
import type { BlockRecord } from '../store/block-record.js';
import { expandOneHop, fullTextSearch, vectorSearch, type Expansion, type ScoredBlock, type SearchFilter } from '../store/search.js';
import type { Scope } from '../store/scope.js';
import { scopeOf } from './access.js';
import type { BlockDeps } from './blocks.js';
import { toLuceneQuery } from './search-query.js';

export type Channel = 'fullText' | 'vector' | 'graph';

/** One search hit and why it matched: the score of each channel (null when it did not contribute). */
export interface SearchHit {
  block: BlockRecord;
  score: number;
  scores: { fullText: number | null; vector: number | null; graph: number | null };
  matchedBy: Channel[];
  /** For a hit found by expansion: the direct hit it hangs off and the relationship followed. */
  via: { blockId: string; type: RelationshipType; direction: 'out' | 'in' } | null;
}

export interface SearchFilterInput {
  types?: BlockType[] | undefined;
  sessionId?: string | undefined;
  /** Defaults to the current knowledge: active, draft and validated (not superseded or archived). */
  statuses?: BlockStatus[] | undefined;
}

const CURRENT: BlockStatus[] = ['active', 'draft', 'validated'];
const toFilter = (scope: Scope, f: SearchFilterInput): SearchFilter => ({
  scope,
  types: f.types,
  sessionId: f.sessionId,
  statuses: f.statuses?.length ? f.statuses : CURRENT,
});

const hit = (b: ScoredBlock, channel: 'fullText' | 'vector'): SearchHit => ({
  block: b.block,
  score: b.score,
  scores: { fullText: channel === 'fullText' ? b.score : null, vector: channel === 'vector' ? b.score : null, graph: null },
  matchedBy: [channel],
  via: null,
});

export async function searchFullText(
  deps: BlockDeps,
  principal: Principal,
  input: SearchFilterInput & { query: string; limit: number },
): Promise<SearchHit[]> {
  const lucene = toLuceneQuery(input.query);
  if (!lucene) return [];
  return (await fullTextSearch(deps.graph, lucene, toFilter(await scopeOf(deps.teams, principal), input), input.limit)).map((b) =>
    hit(b, 'fullText'),
  );
}

export async function searchVector(
  deps: BlockDeps,
  principal: Principal,
  input: SearchFilterInput & { embedding: number[]; limit: number },
): Promise<SearchHit[]> {
  return (await vectorSearch(deps.graph, input.embedding, toFilter(await scopeOf(deps.teams, principal), input), input.limit)).map((b) =>
    hit(b, 'vector'),
  );
}

export interface Weights {
  fullText: number;
  vector: number;
  graph: number;
}

/**
 * Weighted merge of the direct channels. Lucene scores are unbounded, so they are divided by the
 * best full-text score of this query (0..1); vector scores are already 0..1.
 */
export function mergeDirect(fullText: ScoredBlock[], vector: ScoredBlock[], w: Weights): SearchHit[] {
  const maxFt = Math.max(0, ...fullText.map((f) => f.score));
  const byId = new Map<string, SearchHit>();
  const get = (b: BlockRecord) => {
    let h = byId.get(b.id);
    if (!h) byId.set(b.id, (h = { block: b, score: 0, scores: { fullText: null, vector: null, graph: null }, matchedBy: [], via: null }));
    return h;
  };
  for (const f of fullText) {
    const h = get(f.block);
    h.scores.fullText = f.score;
    h.matchedBy.push('fullText');
    h.score += w.fullText * (maxFt > 0 ? f.score / maxFt : 0);
  }
  for (const v of vector) {
    const h = get(v.block);
    h.scores.vector = v.score;
    h.matchedBy.push('vector');
    h.score += w.vector * v.score;
  }
  return [...byId.values()];
}

/**
 * Adds the graph channel: a neighbour of a direct hit scores (hit score × link confidence), the
 * best such path wins. A neighbour that was also a direct hit keeps its direct scores and adds this.
 */
export function addExpansions(direct: SearchHit[], expansions: Expansion[], w: Weights): SearchHit[] {
  const byId = new Map(direct.map((h) => [h.block.id, h]));
  const seedScore = new Map(direct.map((h) => [h.block.id, h.score]));
  const best = new Map<string, { score: number; e: Expansion }>();
  for (const e of expansions) {
    const s = (seedScore.get(e.seedId) ?? 0) * (e.confidence ?? 0.5);
    const cur = best.get(e.block.id);
    if (!cur || s > cur.score) best.set(e.block.id, { score: s, e });
  }
  for (const [id, { score, e }] of best) {
    let h = byId.get(id);
    if (!h)
      byId.set(id, (h = { block: e.block, score: 0, scores: { fullText: null, vector: null, graph: null }, matchedBy: [], via: null }));
    h.scores.graph = score;
    h.matchedBy.push('graph');
    h.score += w.graph * score;
    h.via = { blockId: e.seedId, type: e.type, direction: e.outgoing ? 'out' : 'in' };
  }
  return [...byId.values()];
}

export const rank = (hits: SearchHit[], limit: number) =>
  hits.sort((a, b) => b.score - a.score || a.block.id.localeCompare(b.block.id)).slice(0, limit);

export interface HybridInput extends SearchFilterInput {
  query?: string | undefined;
  embedding?: number[] | undefined;
  weights: Weights;
  expand: boolean;
  limit: number;
}

/** Full-text and vector in parallel, weighted merge, then one hop of expansion from the best hits. */
export async function searchHybrid(deps: BlockDeps, principal: Principal, input: HybridInput): Promise<SearchHit[]> {
  const filter = toFilter(await scopeOf(deps.teams, principal), input);
  const pool = input.limit * 2;
  const lucene = input.query ? toLuceneQuery(input.query) : null;
  const [ft, vec] = await Promise.all([
    lucene ? fullTextSearch(deps.graph, lucene, filter, pool) : Promise.resolve([]),
    input.embedding ? vectorSearch(deps.graph, input.embedding, filter, pool) : Promise.resolve([]),
  ]);
  const direct = rank(mergeDirect(ft, vec, input.weights), input.limit);
  if (!input.expand || direct.length === 0 || input.weights.graph === 0) return direct;
  const expansions = await expandOneHop(
    deps.graph,
    direct.map((h) => h.block.id),
    [...RelationshipType.options],
    filter,
    3,
  );
  return rank(addExpansions(direct, expansions, input.weights), input.limit);
}
