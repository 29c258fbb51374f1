import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../src/domain/cursor.js';
import { expectTrpcError, zodPaths } from './support/errors.js';
import { axisEmbedding, startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

let h: Harness;
let api: KnowledgeCaller;

beforeAll(async () => {
  h = await startHarness('kb-blocks');
  api = h.caller();
});
afterAll(async () => h?.cleanup());

describe('blocks.create and blocks.get', () => {
  it('creates a block with defaults and reads back exactly the same block', async () => {
    const block = await api.blocks.create({ type: 'Decision', sessionId: h.tag, title: 'Use JetStream', content: 'work-queue streams' });
    expect(block).toMatchObject({
      type: 'Decision',
      sessionId: h.tag,
      title: 'Use JetStream',
      content: 'work-queue streams',
      status: 'active',
      confidence: 0.5,
      version: 1,
      createdBy: 'alice',
      ideaId: null,
      properties: {},
      validTo: null,
      hasEmbedding: false,
      legacy: null,
    });
    expect(block.validFrom).toBe(block.createdAt);
    expect(await api.blocks.get({ id: block.id })).toEqual(block);
  });

  it('stores properties, idea, abstraction level, embedding and an explicit validFrom', async () => {
    const block = await api.blocks.create({
      type: 'Evidence',
      sessionId: h.tag,
      title: 'Latency measured',
      properties: { source: 'bench', tags: ['p95'], nested: { ms: 4.2 } },
      ideaId: 'idea-7',
      abstractionLevel: 'tactic',
      embedding: axisEmbedding(h.config.EMBEDDING_DIMENSIONS, 3),
      validFrom: '2020-01-01T00:00:00.000Z',
    });
    expect(block).toMatchObject({
      properties: { source: 'bench', tags: ['p95'], nested: { ms: 4.2 } },
      ideaId: 'idea-7',
      abstractionLevel: 'tactic',
      hasEmbedding: true,
    });
    expect(block.validFrom).toBe('2020-01-01T00:00:00.000Z');
  });

  it('refuses an unknown type label, a status reserved to supersede/archive and an embedding of the wrong length', async () => {
    const bad = { type: 'Nonsense', sessionId: h.tag, title: 'x' } as unknown as Parameters<typeof api.blocks.create>[0];
    expect(zodPaths(await expectTrpcError(api.blocks.create(bad), 'BAD_REQUEST'))).toEqual(['type']);
    const archived = { type: 'Risk', sessionId: h.tag, title: 'x', status: 'archived' } as unknown as Parameters<
      typeof api.blocks.create
    >[0];
    expect(zodPaths(await expectTrpcError(api.blocks.create(archived), 'BAD_REQUEST'))).toEqual(['status']);
    expect(
      zodPaths(
        await expectTrpcError(api.blocks.create({ type: 'Risk', sessionId: h.tag, title: 'x', embedding: [1, 2, 3] }), 'BAD_REQUEST'),
      ),
    ).toEqual(['embedding']);
  });

  it('answers NOT_FOUND for an unknown id and BAD_REQUEST for a malformed one', async () => {
    await expectTrpcError(api.blocks.get({ id: crypto.randomUUID() }), 'NOT_FOUND');
    await expectTrpcError(api.blocks.get({ id: 'not-a-uuid' }), 'BAD_REQUEST');
  });
});

describe('blocks.createMany', () => {
  it('creates a mixed-type batch in input order', async () => {
    const session = `${h.tag}-batch`;
    const { blocks } = await api.blocks.createMany({
      blocks: [
        { type: 'Risk', sessionId: session, title: 'r1' },
        { type: 'Task', sessionId: session, title: 't1' },
        { type: 'Risk', sessionId: session, title: 'r2' },
      ],
    });
    expect(blocks.map((b) => [b.type, b.title])).toEqual([
      ['Risk', 'r1'],
      ['Task', 't1'],
      ['Risk', 'r2'],
    ]);
    expect((await api.blocks.list({ sessionId: session })).items).toHaveLength(3);
  });

  it('writes nothing when one item of the batch is invalid', async () => {
    const session = `${h.tag}-batch-bad`;
    const bad = {
      blocks: [
        { type: 'Risk' as const, sessionId: session, title: 'ok' },
        { type: 'Risk' as const, sessionId: session, title: '' },
      ],
    };
    expect(zodPaths(await expectTrpcError(api.blocks.createMany(bad), 'BAD_REQUEST'))).toEqual(['blocks.1.title']);
    expect((await api.blocks.list({ sessionId: session })).items).toEqual([]);
  });
});

describe('blocks.update', () => {
  it('applies a patch and bumps the version', async () => {
    const b = await api.blocks.create({ type: 'Assumption', sessionId: h.tag, title: 'Users want X', ideaId: 'idea-1' });
    const u = await api.blocks.update({
      id: b.id,
      expectedVersion: 1,
      patch: { title: 'Users want Y', confidence: 0.9, status: 'validated', ideaId: null, properties: { k: 1 } },
    });
    expect(u).toMatchObject({
      id: b.id,
      title: 'Users want Y',
      confidence: 0.9,
      status: 'validated',
      ideaId: null,
      properties: { k: 1 },
      version: 2,
    });
    expect(u.updatedAt > b.updatedAt).toBe(true);
    expect(u.createdAt).toBe(b.createdAt);
  });

  it('refuses a stale version with CONFLICT and leaves the block unchanged', async () => {
    const b = await api.blocks.create({ type: 'Assumption', sessionId: h.tag, title: 'v1' });
    await api.blocks.update({ id: b.id, expectedVersion: 1, patch: { title: 'v2' } });
    const err = await expectTrpcError(api.blocks.update({ id: b.id, expectedVersion: 1, patch: { title: 'lost update' } }), 'CONFLICT');
    expect(err.message).toMatch(/version 2, not 1/);
    expect((await api.blocks.get({ id: b.id })).title).toBe('v2');
  });

  it('lets exactly one of two concurrent updates from the same version win', async () => {
    const b = await api.blocks.create({ type: 'Question', sessionId: h.tag, title: 'race' });
    const results = await Promise.allSettled([
      api.blocks.update({ id: b.id, expectedVersion: 1, patch: { title: 'A' } }),
      api.blocks.update({ id: b.id, expectedVersion: 1, patch: { title: 'B' } }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as { code: string }).code).toBe('CONFLICT');
    const final = await api.blocks.get({ id: b.id });
    expect(final.version).toBe(2);
  });

  it('refuses an empty patch, an unknown block and an archived block', async () => {
    const b = await api.blocks.create({ type: 'Task', sessionId: h.tag, title: 'do it' });
    await expectTrpcError(api.blocks.update({ id: b.id, expectedVersion: 1, patch: {} }), 'BAD_REQUEST');
    await expectTrpcError(api.blocks.update({ id: crypto.randomUUID(), expectedVersion: 1, patch: { title: 'x' } }), 'NOT_FOUND');
    await api.blocks.archive({ id: b.id });
    await expectTrpcError(api.blocks.update({ id: b.id, expectedVersion: 2, patch: { title: 'x' } }), 'CONFLICT');
  });
});

describe('blocks.supersede and blocks.archive', () => {
  it('creates the replacement, links REPLACES and closes the old block without deleting it', async () => {
    const old = await api.blocks.create({ type: 'Decision', sessionId: h.tag, title: 'Use Kafka', ideaId: 'idea-9' });
    const { old: closed, replacement } = await api.blocks.supersede({
      id: old.id,
      expectedVersion: 1,
      reason: 'ops cost',
      replacement: { title: 'Use JetStream' },
    });
    expect(replacement).toMatchObject({
      type: 'Decision',
      sessionId: h.tag,
      ideaId: 'idea-9',
      title: 'Use JetStream',
      status: 'active',
      version: 1,
      validTo: null,
    });
    expect(closed).toMatchObject({ id: old.id, status: 'superseded', version: 2 });
    expect(closed.validTo).toBe(replacement.validFrom);
    expect(await api.blocks.get({ id: old.id })).toEqual(closed);

    const { links } = await api.links.list({ blockId: replacement.id, direction: 'out', types: ['REPLACES'] });
    expect(links).toEqual([
      expect.objectContaining({ sourceId: replacement.id, targetId: old.id, type: 'REPLACES', reason: 'ops cost', createdBy: 'alice' }),
    ]);

    await expectTrpcError(api.blocks.supersede({ id: old.id, replacement: { title: 'again' } }), 'CONFLICT');
  });

  it('refuses to supersede from a stale version', async () => {
    const b = await api.blocks.create({ type: 'Decision', sessionId: h.tag, title: 'x' });
    await api.blocks.update({ id: b.id, expectedVersion: 1, patch: { content: 'changed' } });
    await expectTrpcError(api.blocks.supersede({ id: b.id, expectedVersion: 1, replacement: { title: 'y' } }), 'CONFLICT');
  });

  it('archives once, closing validity; archiving again is a CONFLICT', async () => {
    const b = await api.blocks.create({ type: 'Risk', sessionId: h.tag, title: 'outage' });
    const a = await api.blocks.archive({ id: b.id, expectedVersion: 1 });
    expect(a).toMatchObject({ status: 'archived', version: 2 });
    expect(a.validTo).not.toBeNull();
    await expectTrpcError(api.blocks.archive({ id: b.id }), 'CONFLICT');
    await expectTrpcError(api.blocks.archive({ id: crypto.randomUUID() }), 'NOT_FOUND');
  });
});

describe('blocks.list', () => {
  it('filters by type and status and pages by cursor without gaps or repeats', async () => {
    const session = `${h.tag}-list`;
    const { blocks } = await api.blocks.createMany({
      blocks: [
        ...Array.from({ length: 5 }, (_, i) => ({ type: 'Knowledge' as const, sessionId: session, title: `k${i}` })),
        { type: 'Risk' as const, sessionId: session, title: 'r', status: 'draft' as const },
      ],
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await api.blocks.list({ sessionId: session, type: 'Knowledge', limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((b) => b.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(
      blocks
        .filter((b) => b.type === 'Knowledge')
        .map((b) => b.id)
        .sort(),
    );

    const drafts = await api.blocks.list({ sessionId: session, status: 'draft' });
    expect(drafts.items.map((b) => b.title)).toEqual(['r']);
  });

  it('answers as of a time: validAt sees the old block before a supersede and the new one after', async () => {
    const session = `${h.tag}-valid`;
    const old = await api.blocks.create({ type: 'Decision', sessionId: session, title: 'old', validFrom: '2021-01-01T00:00:00.000Z' });
    const { replacement } = await api.blocks.supersede({ id: old.id, replacement: { title: 'new' } });
    const titlesAt = async (t: string) => (await api.blocks.list({ sessionId: session, validAt: t })).items.map((b) => b.title);
    expect(await titlesAt('2020-06-01T00:00:00.000Z')).toEqual([]);
    expect(await titlesAt('2022-01-01T00:00:00.000Z')).toEqual(['old']);
    expect(await titlesAt(new Date(Date.parse(replacement.validFrom) + 1).toISOString())).toEqual(['new']);
  });

  it('refuses a cursor it did not produce with BAD_REQUEST', async () => {
    for (const cursor of ['garbage!', Buffer.from('{"v":1}').toString('base64url'), Buffer.from('not json').toString('base64url')]) {
      const err = await expectTrpcError(api.blocks.list({ sessionId: h.tag, cursor }), 'BAD_REQUEST');
      expect(err.message).toBe('invalid cursor');
    }
    const ok = encodeCursor({ createdAt: '2000-01-01T00:00:00Z', id: 'a' });
    expect((await api.blocks.list({ sessionId: h.tag, cursor: ok, limit: 1 })).items).toHaveLength(1);
  });
});
