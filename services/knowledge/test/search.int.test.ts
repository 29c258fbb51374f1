import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTrpcError, zodPaths } from './support/errors.js';
import { axisEmbedding, startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

let h: Harness;
let api: KnowledgeCaller;
let dims: number;
// A token no other test data contains, so full-text hits are ours whatever else the graph holds.
const word = `zq${Math.random().toString(36).slice(2, 8)}`;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness('kb-search');
  api = h.caller();
  dims = h.config.EMBEDDING_DIMENSIONS;
  const { blocks } = await api.blocks.createMany({
    blocks: [
      {
        type: 'Knowledge',
        sessionId: h.tag,
        title: `${word} retries with backoff`,
        content: 'jitter avoids thundering herds',
        embedding: axisEmbedding(dims, 10),
      },
      {
        type: 'Decision',
        sessionId: h.tag,
        title: 'C++ (templates) are fine',
        content: `we keep ${word} out of it`,
        embedding: axisEmbedding(dims, 20),
      },
      { type: 'Risk', sessionId: h.tag, title: 'vector only', content: 'nothing textual in common', embedding: axisEmbedding(dims, 30) },
      { type: 'Evidence', sessionId: h.tag, title: 'linked evidence', content: 'no shared words' },
      { type: 'Knowledge', sessionId: h.tag, title: `${word} superseded idea`, content: 'old' },
    ],
  });
  ['retries', 'cpp', 'vector', 'evidence', 'old'].forEach((k, i) => (ids[k] = blocks[i]!.id));
  await api.links.create({ sourceId: ids['evidence']!, targetId: ids['retries']!, type: 'SUPPORTS', confidence: 0.8 });
  await api.blocks.supersede({ id: ids['old']!, replacement: { title: 'replacement without the token' } });
});
afterAll(async () => h?.cleanup());

const hitIds = (hits: Array<{ block: { id: string } }>) => hits.map((x) => x.block.id);

describe('search.fullText', () => {
  it('finds current blocks by words in title or content, with the full-text score only', async () => {
    const { hits } = await api.search.fullText({ query: word, sessionId: h.tag });
    expect(hitIds(hits).sort()).toEqual([ids['retries'], ids['cpp']].sort());
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
    for (const x of hits) {
      expect(x.scores.fullText).toBeGreaterThan(0);
      expect(x.scores.vector).toBeNull();
      expect(x.matchedBy).toEqual(['fullText']);
    }
  });

  it('includes superseded blocks only when asked for their status', async () => {
    const { hits } = await api.search.fullText({ query: word, sessionId: h.tag, statuses: ['superseded'] });
    expect(hitIds(hits)).toEqual([ids['old']]);
  });

  it('treats Lucene syntax as plain text: no syntax error and no injected operator', async () => {
    for (const query of ['C++ (templates)', 'title:"unterminated', '*', 'AND', '\\', 'a && b || !c ~ ^2 {x TO y} [1 TO 2] /re/ ?', 'NOT']) {
      await expect(api.search.fullText({ query, sessionId: h.tag })).resolves.toBeDefined();
    }
    const cpp = await api.search.fullText({ query: 'C++ (templates)', sessionId: h.tag });
    expect(hitIds(cpp.hits)).toContain(ids['cpp']);
    // Unescaped, `*:*` would match every block of the session.
    const injected = await api.search.fullText({ query: `${word} OR *:*`, sessionId: h.tag, types: ['Knowledge'] });
    expect(hitIds(injected.hits)).toEqual([ids['retries']]);
  });

  it('still finds a filtered match that ranks below the first round of Lucene hits', async () => {
    const common = `zc${Math.random().toString(36).slice(2, 8)}`;
    const crowd = `${h.tag}-crowd`;
    await api.blocks.createMany({
      blocks: Array.from({ length: 250 }, () => ({
        type: 'Knowledge' as const,
        sessionId: crowd,
        title: `${common} ${common}`,
        content: `${common} ${common} ${common}`,
      })),
    });
    const filler = Array.from({ length: 400 }, (_, i) => `filler${i}`).join(' ');
    const mine = await api.blocks.create({
      type: 'Knowledge',
      sessionId: `${h.tag}-needle`,
      title: 'needle',
      content: `${filler} ${common}`,
    });
    // Precondition: unfiltered, the needle is not among the best 100 hits (the first round).
    const all = await api.search.fullText({ query: common, limit: 100 });
    expect(all.hits).toHaveLength(100);
    expect(all.hits.map((x) => x.block.id)).not.toContain(mine.id);
    // limit 5: Lucene's first round is 100 hits, all from the crowd.
    const { hits } = await api.search.fullText({ query: common, sessionId: `${h.tag}-needle`, limit: 5 });
    expect(hits.map((x) => x.block.id)).toEqual([mine.id]);
  });

  it('refuses an empty query and an unknown type filter', async () => {
    await expectTrpcError(api.search.fullText({ query: '   ' }), 'BAD_REQUEST');
    const bad = { query: 'x', types: ['Nope'] } as unknown as Parameters<typeof api.search.fullText>[0];
    expect(zodPaths(await expectTrpcError(api.search.fullText(bad), 'BAD_REQUEST'))).toEqual(['types.0']);
  });
});

describe('search.vector', () => {
  it('ranks by cosine similarity with the vector score', async () => {
    const { hits } = await api.search.vector({ embedding: axisEmbedding(dims, 20, 0.1), sessionId: h.tag, limit: 3 });
    expect(hits[0]!.block.id).toBe(ids['cpp']);
    expect(hits[0]!.scores).toEqual({ fullText: null, vector: expect.any(Number), graph: null });
    expect(hits[0]!.scores.vector!).toBeGreaterThan(0.99);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it("finds the caller's own nearest blocks even when many nearer ones are other users'", async () => {
    // 120 blocks of someone else's nearer the query than any of the caller's (distinct vectors: an HNSW
    // index finds exact duplicates badly): the index's first round (k = 100) is all theirs, and the caller's scope filters every one out; the answer must still be the caller's.
    const crowd = h.caller({ kind: 'user', id: `${h.tag}-crowd`, roles: [] });
    await crowd.blocks.createMany({
      blocks: Array.from({ length: 120 }, (_, i) => ({
        type: 'Knowledge' as const,
        sessionId: `${h.tag}-crowd`,
        title: `crowd ${i}`,
        embedding: axisEmbedding(dims, 40, 0.001 * (i + 1)),
      })),
    });
    const loner = h.caller({ kind: 'user', id: `${h.tag}-loner`, roles: [] });
    const { blocks } = await loner.blocks.createMany({
      blocks: [
        { type: 'Knowledge', sessionId: `${h.tag}-loner`, title: 'near', embedding: axisEmbedding(dims, 40, 0.3) },
        { type: 'Knowledge', sessionId: `${h.tag}-loner`, title: 'far', embedding: axisEmbedding(dims, 90) },
      ],
    });
    const { hits } = await loner.search.vector({ embedding: axisEmbedding(dims, 40), limit: 3 });
    expect(hits.map((x) => x.block.id)).toEqual([blocks[0]!.id, blocks[1]!.id]);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it('refuses an embedding of the wrong dimension', async () => {
    expect(zodPaths(await expectTrpcError(api.search.vector({ embedding: [0.1, 0.2] }), 'BAD_REQUEST'))).toEqual(['embedding']);
  });
});

describe('search.hybrid', () => {
  it('merges both channels, expands one hop and says why each hit matched', async () => {
    const { hits } = await api.search.hybrid({ query: 'retries backoff', embedding: axisEmbedding(dims, 30), sessionId: h.tag, limit: 10 });
    const byId = new Map(hits.map((x) => [x.block.id, x]));
    expect(byId.get(ids['retries']!)?.matchedBy).toContain('fullText');
    expect(byId.get(ids['vector']!)?.matchedBy).toContain('vector');
    const expanded = byId.get(ids['evidence']!);
    expect(expanded).toMatchObject({ matchedBy: ['graph'], via: { blockId: ids['retries'], type: 'SUPPORTS', direction: 'in' } });
    expect(expanded!.scores.graph).toBeCloseTo(byId.get(ids['retries']!)!.score * 0.8, 5);
    expect(hitIds(hits)).not.toContain(ids['old']);
  });

  it('ranks a block matching both channels above one matching only one', async () => {
    const { hits } = await api.search.hybrid({
      query: word,
      embedding: axisEmbedding(dims, 20),
      weights: { fullText: 0.3, vector: 0.7 },
      sessionId: h.tag,
      expand: false,
    });
    expect(hits[0]!.block.id).toBe(ids['cpp']);
    expect(hits[0]!.matchedBy).toEqual(['fullText', 'vector']);
    expect(hits.every((x) => !x.matchedBy.includes('graph'))).toBe(true);
  });

  it('needs a query or an embedding', async () => {
    expect(zodPaths(await expectTrpcError(api.search.hybrid({}), 'BAD_REQUEST'))).toEqual(['query']);
  });
});
