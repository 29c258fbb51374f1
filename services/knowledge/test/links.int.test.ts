import type { BlockType } from '@platform/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTrpcError, zodPaths } from './support/errors.js';
import { startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

let h: Harness;
let api: KnowledgeCaller;
/** Blocks a..f: a -SUPPORTS-> b -DEPENDS_ON-> c -DEPENDS_ON-> d -BLOCKS-> e; f is isolated. */
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness('kb-links');
  api = h.caller();
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const { blocks } = await api.blocks.createMany({
    blocks: names.map((n) => ({ type: 'Knowledge' as BlockType, sessionId: h.tag, title: n })),
  });
  names.forEach((n, i) => (ids[n] = blocks[i]!.id));
  await api.links.create({ sourceId: ids['a']!, targetId: ids['b']!, type: 'SUPPORTS', confidence: 0.9, reason: 'data' });
  await api.links.create({ sourceId: ids['b']!, targetId: ids['c']!, type: 'DEPENDS_ON' });
  await api.links.create({ sourceId: ids['c']!, targetId: ids['d']!, type: 'DEPENDS_ON' });
  await api.links.create({ sourceId: ids['d']!, targetId: ids['e']!, type: 'BLOCKS' });
});
afterAll(async () => h?.cleanup());

const titles = (blocks: Array<{ id: string }>) => blocks.map((b) => Object.entries(ids).find(([, id]) => id === b.id)?.[0]);

describe('links.create and links.remove', () => {
  it('returns the created link with its properties', async () => {
    const { links } = await api.links.list({ blockId: ids['a']!, direction: 'out' });
    expect(links).toEqual([
      {
        sourceId: ids['a'],
        targetId: ids['b'],
        type: 'SUPPORTS',
        confidence: 0.9,
        reason: 'data',
        createdAt: expect.any(String),
        createdBy: 'alice',
        owner: { kind: 'user', id: 'alice' },
        teamId: null,
      },
    ]);
  });

  it('refuses a duplicate (CONFLICT), a self-link (BAD_REQUEST), a missing endpoint (NOT_FOUND) and an unknown type', async () => {
    await expectTrpcError(api.links.create({ sourceId: ids['a']!, targetId: ids['b']!, type: 'SUPPORTS' }), 'CONFLICT');
    await expectTrpcError(api.links.create({ sourceId: ids['a']!, targetId: ids['a']!, type: 'SUPPORTS' }), 'BAD_REQUEST');
    await expectTrpcError(api.links.create({ sourceId: ids['a']!, targetId: crypto.randomUUID(), type: 'SUPPORTS' }), 'NOT_FOUND');
    const hostile = { sourceId: ids['a']!, targetId: ids['b']!, type: 'SUPPORTS]->() DETACH DELETE (n) //' } as unknown as Parameters<
      typeof api.links.create
    >[0];
    expect(zodPaths(await expectTrpcError(api.links.create(hostile), 'BAD_REQUEST'))).toEqual(['type']);
    const { links } = await api.links.list({ blockId: ids['a']!, direction: 'out' });
    expect(links).toHaveLength(1);
  });

  it('removes a link once; removing it again is NOT_FOUND', async () => {
    await api.links.create({ sourceId: ids['e']!, targetId: ids['f']!, type: 'RELATES_TO' });
    const removed = await api.links.remove({ sourceId: ids['e']!, targetId: ids['f']!, type: 'RELATES_TO' });
    expect(removed).toMatchObject({ sourceId: ids['e'], targetId: ids['f'], type: 'RELATES_TO' });
    expect((await api.links.list({ blockId: ids['f']! })).links).toEqual([]);
    await expectTrpcError(api.links.remove({ sourceId: ids['e']!, targetId: ids['f']!, type: 'RELATES_TO' }), 'NOT_FOUND');
  });
});

describe('links.list', () => {
  it('filters by direction and type', async () => {
    const both = await api.links.list({ blockId: ids['c']! });
    expect(both.links.map((l) => `${titles([{ id: l.sourceId }])}->${titles([{ id: l.targetId }])}`).sort()).toEqual(['b->c', 'c->d']);
    const incoming = await api.links.list({ blockId: ids['c']!, direction: 'in' });
    expect(incoming.links.map((l) => l.sourceId)).toEqual([ids['b']]);
    const blocks = await api.links.list({ blockId: ids['c']!, types: ['BLOCKS'] });
    expect(blocks.links).toEqual([]);
    await expectTrpcError(api.links.list({ blockId: crypto.randomUUID() }), 'NOT_FOUND');
  });
});

describe('links.neighbours', () => {
  it('returns blocks within the depth, nearest first, each once', async () => {
    const one = await api.links.neighbours({ blockId: ids['c']!, depth: 1 });
    expect(one.neighbours.map((n) => [titles([n.block])[0], n.distance]).sort()).toEqual([
      ['b', 1],
      ['d', 1],
    ]);
    const three = await api.links.neighbours({ blockId: ids['a']!, depth: 3, direction: 'out' });
    expect(three.neighbours.map((n) => [titles([n.block])[0], n.distance])).toEqual([
      ['b', 1],
      ['c', 2],
      ['d', 3],
    ]);
    const typed = await api.links.neighbours({ blockId: ids['a']!, depth: 5, types: ['SUPPORTS'] });
    expect(titles(typed.neighbours.map((n) => n.block))).toEqual(['b']);
  });

  it('refuses a depth beyond the bound', async () => {
    expect(zodPaths(await expectTrpcError(api.links.neighbours({ blockId: ids['a']!, depth: 6 }), 'BAD_REQUEST'))).toEqual(['depth']);
  });
});

describe('links.shortestPath', () => {
  it('finds the shortest path with its blocks and links, respecting direction', async () => {
    const { path } = await api.links.shortestPath({ fromId: ids['a']!, toId: ids['e']! });
    expect(titles(path!.blocks)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(path!.links.map((l) => l.type)).toEqual(['SUPPORTS', 'DEPENDS_ON', 'DEPENDS_ON', 'BLOCKS']);
    expect((await api.links.shortestPath({ fromId: ids['e']!, toId: ids['a']!, direction: 'out' })).path).toBeNull();
    expect((await api.links.shortestPath({ fromId: ids['e']!, toId: ids['a']!, direction: 'in' })).path?.blocks).toHaveLength(5);
  });

  it('answers null beyond maxDepth or without a path, and NOT_FOUND for a missing block', async () => {
    expect((await api.links.shortestPath({ fromId: ids['a']!, toId: ids['e']!, maxDepth: 3 })).path).toBeNull();
    expect((await api.links.shortestPath({ fromId: ids['a']!, toId: ids['f']! })).path).toBeNull();
    expect((await api.links.shortestPath({ fromId: ids['a']!, toId: ids['a']! })).path?.blocks.map((b) => b.id)).toEqual([ids['a']]);
    await expectTrpcError(api.links.shortestPath({ fromId: ids['a']!, toId: crypto.randomUUID() }), 'NOT_FOUND');
  });
});
