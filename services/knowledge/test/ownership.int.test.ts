import type { BlockType, Principal } from '@platform/contracts';
import { staticTeamDirectory } from '@platform/kit';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTrpcError } from './support/errors.js';
import { axisEmbedding, startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

/*
 * The ownership rule (ARCHITECTURE.md, "Security and tenancy"): a user reads and changes what they
 * own and what their teams own; an agent what it created; services and platform admins everything.
 * Anyone else is told NOT_FOUND (never "it exists") and lists, searches and walks leave the record
 * out, so no walk passes through a block or a link the caller could not read directly.
 *
 * alice and carol share team T; bob is in no team. Blocks (all in this test's session):
 *
 *   a1 -SUPPORTS-> a2 -SUPPORTS-> a3 -SUPPORTS-> a4        alice's own, linked by alice
 *   a1 -RELATES_TO-> b1 -RELATES_TO-> a4                  bob's b1, linked by an admin (links in team T)
 *   a2 -RELATES_TO-> t1                                   t1: alice's block in team T (link in team T)
 *   a1 -BLOCKS-> a3                                       a link of a service's own (no team)
 *
 * so for alice the shortest a1→a4 is the 3 hops through a2, a3 (the 2 hops through b1 are not hers).
 */
const T = randomUUID();
const teams = staticTeamDirectory({ alice: [T], carol: [T] });
const alice: Principal = { kind: 'user', id: 'alice', roles: [] };
const bob: Principal = { kind: 'user', id: 'bob', roles: [] };
const carol: Principal = { kind: 'user', id: 'carol', roles: [] };
const agent: Principal = { kind: 'agent', id: 'agent-ownership', roles: ['agent'] };
const service: Principal = { kind: 'service', id: 'operations', roles: ['service'] };
const admin: Principal = { kind: 'user', id: 'root', roles: ['admin'] };
// An agent whose id is a user's id is still not that user: owners are (kind, id).
const aliceAgent: Principal = { kind: 'agent', id: 'alice', roles: ['agent'] };

let h: Harness;
const as: Record<'alice' | 'bob' | 'carol' | 'agent' | 'service' | 'admin' | 'aliceAgent', KnowledgeCaller> = {} as never;
const id: Record<string, string> = {};
let word: string;
let dims: number;

const name = (blockId: string) => Object.entries(id).find(([, v]) => v === blockId)?.[0] ?? blockId;
const names = (blocks: Array<{ id: string }>) => blocks.map((b) => name(b.id));

beforeAll(async () => {
  h = await startHarness('kb-own', { teams });
  dims = h.config.EMBEDDING_DIMENSIONS;
  Object.assign(as, {
    alice: h.caller(alice),
    bob: h.caller(bob),
    carol: h.caller(carol),
    agent: h.caller(agent),
    service: h.caller(service),
    admin: h.caller(admin),
    aliceAgent: h.caller(aliceAgent),
  });
  word = `ownword${h.tag.replace(/[^a-z0-9]/gi, '')}`;
  const block = (title: string, extra: object = {}) => ({
    type: 'Knowledge' as BlockType,
    sessionId: h.tag,
    title: `${title} ${word}`,
    ...extra,
  });
  const mine = await as.alice.blocks.createMany({
    blocks: [block('a1', { embedding: axisEmbedding(dims, 5) }), block('a2'), block('a3'), block('a4'), block('t1', { teamId: T })],
  });
  ['a1', 'a2', 'a3', 'a4', 't1'].forEach((n, i) => (id[n] = mine.blocks[i]!.id));
  id['b1'] = (await as.bob.blocks.create(block('b1', { embedding: axisEmbedding(dims, 5) }))).id;
  id['c1'] = (await as.carol.blocks.create(block('c1'))).id;
  id['g1'] = (await as.agent.blocks.create(block('g1'))).id;

  await as.alice.links.create({ sourceId: id['a1']!, targetId: id['a2']!, type: 'SUPPORTS' });
  await as.alice.links.create({ sourceId: id['a2']!, targetId: id['a3']!, type: 'SUPPORTS' });
  await as.alice.links.create({ sourceId: id['a3']!, targetId: id['a4']!, type: 'SUPPORTS' });
  await as.alice.links.create({ sourceId: id['a2']!, targetId: id['t1']!, type: 'RELATES_TO', teamId: T });
  await as.admin.links.create({ sourceId: id['a1']!, targetId: id['b1']!, type: 'RELATES_TO', confidence: 1, teamId: T });
  await as.admin.links.create({ sourceId: id['b1']!, targetId: id['a4']!, type: 'RELATES_TO', confidence: 1, teamId: T });
  await as.service.links.create({ sourceId: id['a1']!, targetId: id['a3']!, type: 'BLOCKS' });
});
afterAll(async () => h?.cleanup());

describe('blocks: another user is told the block does not exist', () => {
  it('records the creator as owner, and the team when given', async () => {
    expect(await as.alice.blocks.get({ id: id['a1']! })).toMatchObject({
      owner: { kind: 'user', id: 'alice' },
      teamId: null,
      createdBy: 'alice',
    });
    expect(await as.alice.blocks.get({ id: id['t1']! })).toMatchObject({ owner: { kind: 'user', id: 'alice' }, teamId: T });
  });

  it('answers NOT_FOUND to get, update, archive and supersede by another user, and changes nothing', async () => {
    await expectTrpcError(as.bob.blocks.get({ id: id['a1']! }), 'NOT_FOUND');
    await expectTrpcError(as.bob.blocks.update({ id: id['a1']!, expectedVersion: 1, patch: { title: 'hijacked' } }), 'NOT_FOUND');
    await expectTrpcError(as.bob.blocks.archive({ id: id['a1']! }), 'NOT_FOUND');
    await expectTrpcError(as.bob.blocks.supersede({ id: id['a1']!, replacement: { title: 'hijacked' } }), 'NOT_FOUND');
    // the same answer as for an id that exists nowhere: no hint that a1 exists
    const missing = await expectTrpcError(as.bob.blocks.get({ id: randomUUID() }), 'NOT_FOUND');
    const hidden = await expectTrpcError(as.bob.blocks.get({ id: id['a1']! }), 'NOT_FOUND');
    expect(hidden.message.replace(id['a1']!, 'ID')).toBe(missing.message.replace(/[0-9a-f-]{36}/, 'ID'));
    expect(await as.alice.blocks.get({ id: id['a1']! })).toMatchObject({ version: 1, status: 'active', title: `a1 ${word}` });
  });

  it('lets the owner change their block', async () => {
    const updated = await as.alice.blocks.update({ id: id['a3']!, expectedVersion: 1, patch: { confidence: 0.7 } });
    expect(updated).toMatchObject({ version: 2, confidence: 0.7 });
  });

  it("keeps an agent to what it created (an agent with a user's id is not that user)", async () => {
    expect(await as.agent.blocks.get({ id: id['g1']! })).toMatchObject({ owner: { kind: 'agent', id: agent.id } });
    await expectTrpcError(as.agent.blocks.get({ id: id['a1']! }), 'NOT_FOUND');
    await expectTrpcError(as.alice.blocks.get({ id: id['g1']! }), 'NOT_FOUND');
    await expectTrpcError(as.aliceAgent.blocks.get({ id: id['a1']! }), 'NOT_FOUND');
  });

  it('lets services and platform admins read and change every block', async () => {
    for (const who of [as.service, as.admin]) {
      for (const n of ['a1', 'b1', 'c1', 'g1', 't1']) expect((await who.blocks.get({ id: id[n]! })).id).toBe(id[n]);
    }
    const b = await as.service.blocks.create({ type: 'Risk', sessionId: h.tag, title: 'to archive' });
    expect((await as.admin.blocks.archive({ id: b.id })).status).toBe('archived');
  });
});

describe('teams', () => {
  it("lets a member of the team read and change the team's block; an outsider gets NOT_FOUND", async () => {
    expect((await as.carol.blocks.get({ id: id['t1']! })).id).toBe(id['t1']);
    await expectTrpcError(as.bob.blocks.get({ id: id['t1']! }), 'NOT_FOUND');
    await expectTrpcError(as.carol.blocks.get({ id: id['a1']! }), 'NOT_FOUND');
    const shared = await as.carol.blocks.create({ type: 'Decision', sessionId: h.tag, title: 'team decision', teamId: T });
    const updated = await as.alice.blocks.update({ id: shared.id, expectedVersion: 1, patch: { content: 'agreed' } });
    expect(updated).toMatchObject({ owner: { kind: 'user', id: 'carol' }, teamId: T, content: 'agreed' });
  });

  it("keeps a superseded team block in the team: the replacement is the superseder's and the team's", async () => {
    const shared = await as.alice.blocks.create({ type: 'Assumption', sessionId: h.tag, title: 'team assumption', teamId: T });
    const { replacement } = await as.carol.blocks.supersede({ id: shared.id, replacement: { title: 'revised' } });
    expect(replacement).toMatchObject({ owner: { kind: 'user', id: 'carol' }, teamId: T });
    expect((await as.alice.blocks.get({ id: replacement.id })).title).toBe('revised');
    await expectTrpcError(as.bob.blocks.get({ id: replacement.id }), 'NOT_FOUND');
  });

  it('refuses to share with a team the caller is not in (FORBIDDEN), for blocks, links and runs', async () => {
    await expectTrpcError(as.bob.blocks.create({ type: 'Risk', sessionId: h.tag, title: 'x', teamId: T }), 'FORBIDDEN');
    await expectTrpcError(as.agent.blocks.create({ type: 'Risk', sessionId: h.tag, title: 'x', teamId: T }), 'FORBIDDEN');
    await expectTrpcError(as.alice.blocks.create({ type: 'Risk', sessionId: h.tag, title: 'x', teamId: randomUUID() }), 'FORBIDDEN');
    await expectTrpcError(
      as.alice.links.create({ sourceId: id['a1']!, targetId: id['a4']!, type: 'DERIVED_FROM', teamId: randomUUID() }),
      'FORBIDDEN',
    );
    await expectTrpcError(as.bob.runs.create({ name: 'x', sessionId: h.tag, teamId: T }), 'FORBIDDEN');
    const { items } = await as.service.blocks.list({ sessionId: h.tag, limit: 200 });
    expect(items.filter((b) => b.title === 'x')).toEqual([]);
  });
});

describe('blocks.list', () => {
  it('shows each caller only what they may see, and everything to services and admins', async () => {
    const visible = async (who: KnowledgeCaller) => new Set(names((await who.blocks.list({ sessionId: h.tag, limit: 200 })).items));
    const mine = await visible(as.alice);
    expect([...mine].filter((n) => ['a1', 'a2', 'a3', 'a4', 't1', 'b1', 'c1', 'g1'].includes(n)).sort()).toEqual([
      'a1',
      'a2',
      'a3',
      'a4',
      't1',
    ]);
    expect([...(await visible(as.bob))].filter((n) => n in id).sort()).toEqual(['b1']);
    expect([...(await visible(as.carol))].filter((n) => n in id).sort()).toEqual(['c1', 't1']);
    expect([...(await visible(as.agent))].filter((n) => n in id).sort()).toEqual(['g1']);
    for (const who of [as.service, as.admin])
      expect([...(await visible(who))].filter((n) => n in id).sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'g1', 't1']);
  });

  it("never hands another user's blocks out across pages", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await as.bob.blocks.list({ sessionId: h.tag, limit: 1, ...(cursor ? { cursor } : {}) });
      seen.push(...names(page.items));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['b1']);
  });

  it("treats a block written before ownership (no owner properties) as nobody's: services and admins only", async () => {
    const legacyId = randomUUID();
    await h.graph.driver.executeQuery(
      `CREATE (:Block:Knowledge {id: $id, sessionId: $s, title: $t, content: '', status: 'active', confidence: 0.5, properties: '{}', version: 1,
         createdAt: datetime(), updatedAt: datetime(), validFrom: datetime()})`,
      { id: legacyId, s: h.tag, t: `old ${word}` },
      { database: h.graph.database },
    );
    await expectTrpcError(as.alice.blocks.get({ id: legacyId }), 'NOT_FOUND');
    await expectTrpcError(as.alice.blocks.archive({ id: legacyId }), 'NOT_FOUND');
    expect((await as.alice.blocks.list({ sessionId: h.tag, limit: 200 })).items.map((b) => b.id)).not.toContain(legacyId);
    expect((await as.alice.search.fullText({ query: `old ${word}`, limit: 100 })).hits.map((x) => x.block.id)).not.toContain(legacyId);
    expect(await as.service.blocks.get({ id: legacyId })).toMatchObject({ id: legacyId, owner: null, teamId: null });
    expect((await as.admin.blocks.get({ id: legacyId })).id).toBe(legacyId);
  });
});

describe('links', () => {
  it('refuses a link to or from a block the caller cannot see (NOT_FOUND), as for a missing block', async () => {
    await expectTrpcError(as.bob.links.create({ sourceId: id['b1']!, targetId: id['a1']!, type: 'CONTRADICTS' }), 'NOT_FOUND');
    await expectTrpcError(as.bob.links.create({ sourceId: id['a1']!, targetId: id['b1']!, type: 'CONTRADICTS' }), 'NOT_FOUND');
    await expectTrpcError(as.alice.links.create({ sourceId: id['a1']!, targetId: id['c1']!, type: 'CONTRADICTS' }), 'NOT_FOUND');
    expect((await as.service.links.list({ blockId: id['b1']!, types: ['CONTRADICTS'] })).links).toEqual([]);
  });

  it("answers NOT_FOUND to another user removing or listing the owner's links, and keeps them", async () => {
    await expectTrpcError(as.bob.links.remove({ sourceId: id['a1']!, targetId: id['a2']!, type: 'SUPPORTS' }), 'NOT_FOUND');
    await expectTrpcError(as.bob.links.list({ blockId: id['a1']! }), 'NOT_FOUND');
    // a link the caller sees both ends of, but which is not theirs (the service's), is not theirs to remove
    await expectTrpcError(as.alice.links.remove({ sourceId: id['a1']!, targetId: id['a3']!, type: 'BLOCKS' }), 'NOT_FOUND');
    expect(
      (await as.service.links.list({ blockId: id['a1']!, direction: 'out' })).links.map((l) => `${l.type}->${name(l.targetId)}`).sort(),
    ).toEqual(['BLOCKS->a3', 'RELATES_TO->b1', 'SUPPORTS->a2']);
  });

  it('lists only links the caller sees, to blocks the caller sees', async () => {
    const out = await as.alice.links.list({ blockId: id['a1']! });
    expect(out.links.map((l) => `${l.type}->${name(l.targetId)}`)).toEqual(['SUPPORTS->a2']);
    const team = await as.carol.links.list({ blockId: id['t1']! });
    // the team link a2->t1 is the team's, but a2 is alice's own: carol does not see it
    expect(team.links).toEqual([]);
  });

  it('lets the owner remove their link', async () => {
    await as.alice.links.create({ sourceId: id['a4']!, targetId: id['a1']!, type: 'DERIVED_FROM' });
    expect(await as.alice.links.remove({ sourceId: id['a4']!, targetId: id['a1']!, type: 'DERIVED_FROM' })).toMatchObject({
      owner: { kind: 'user', id: 'alice' },
    });
  });

  it('does not describe an existing link the caller cannot see when refusing a duplicate', async () => {
    const err = await expectTrpcError(as.alice.links.create({ sourceId: id['a1']!, targetId: id['a3']!, type: 'BLOCKS' }), 'CONFLICT');
    expect(JSON.stringify(err.cause ?? null)).not.toContain(service.id);
  });
});

describe('graph walks never cross into records the caller cannot see', () => {
  it("neighbours: alice never reaches bob's b1, nor a4 through it", async () => {
    const { neighbours } = await as.alice.links.neighbours({ blockId: id['a1']!, depth: 2 });
    expect(neighbours.map((n) => [name(n.block.id), n.distance]).sort()).toEqual([
      ['a2', 1],
      ['a3', 2],
      ['t1', 2],
    ]);
    const svc = await as.service.links.neighbours({ blockId: id['a1']!, depth: 1 });
    expect(names(svc.neighbours.map((n) => n.block)).sort()).toEqual(['a2', 'a3', 'b1']);
    await expectTrpcError(as.bob.links.neighbours({ blockId: id['a1']!, depth: 3 }), 'NOT_FOUND');
    // from b1, bob sees no neighbour at all: every block around it is alice's
    expect((await as.bob.links.neighbours({ blockId: id['b1']!, depth: 3 })).neighbours).toEqual([]);
  });

  it("shortestPath: only through visible blocks and links (the shorter path through b1 is not alice's)", async () => {
    const mine = await as.alice.links.shortestPath({ fromId: id['a1']!, toId: id['a4']! });
    expect(names(mine.path!.blocks)).toEqual(['a1', 'a2', 'a3', 'a4']);
    const svc = await as.service.links.shortestPath({ fromId: id['a1']!, toId: id['a4']! });
    expect(svc.path!.blocks).toHaveLength(3);
    expect(['a1,b1,a4', 'a1,a3,a4']).toContain(names(svc.path!.blocks).join());
    await expectTrpcError(as.bob.links.shortestPath({ fromId: id['b1']!, toId: id['a4']! }), 'NOT_FOUND');
    await expectTrpcError(as.bob.links.shortestPath({ fromId: id['a1']!, toId: id['a1']! }), 'NOT_FOUND');
    // carol sees t1 and (as nothing of alice's) no path to a1 at all
    await expectTrpcError(as.carol.links.shortestPath({ fromId: id['t1']!, toId: id['a1']! }), 'NOT_FOUND');
  });
});

describe('search', () => {
  it('full-text: each caller finds only the blocks they may see', async () => {
    const found = async (who: KnowledgeCaller) =>
      names((await who.search.fullText({ query: word, limit: 100 })).hits.map((x) => x.block))
        .filter((n) => n in id)
        .sort();
    expect(await found(as.alice)).toEqual(['a1', 'a2', 'a3', 'a4', 't1']);
    expect(await found(as.bob)).toEqual(['b1']);
    expect(await found(as.carol)).toEqual(['c1', 't1']);
    expect(await found(as.agent)).toEqual(['g1']);
    expect(await found(as.service)).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'g1', 't1']);
  });

  it("vector: bob's block with the very same embedding is not among alice's hits", async () => {
    const hits = (await as.alice.search.vector({ embedding: axisEmbedding(dims, 5), sessionId: h.tag, limit: 10 })).hits;
    expect(names(hits.map((x) => x.block))).toEqual(['a1']);
    const svc = (await as.service.search.vector({ embedding: axisEmbedding(dims, 5), sessionId: h.tag, limit: 10 })).hits;
    expect(names(svc.map((x) => x.block)).sort()).toEqual(['a1', 'b1']);
  });

  it('hybrid: expansion follows only visible links to visible blocks', async () => {
    const hits = (await as.alice.search.hybrid({ query: `a1 ${word}`, embedding: axisEmbedding(dims, 5), sessionId: h.tag, limit: 20 }))
      .hits;
    const got = names(hits.map((x) => x.block));
    expect(got).toContain('a1');
    expect(got).not.toContain('b1');
    expect(got.filter((n) => !['a1', 'a2', 'a3', 'a4', 't1'].includes(n) && n in id)).toEqual([]);
    const svc = (await as.service.search.hybrid({ embedding: axisEmbedding(dims, 5), sessionId: h.tag, limit: 20 })).hits;
    expect(names(svc.map((x) => x.block))).toContain('b1');
  });
});

describe('runs', () => {
  let run: { id: string; rootStepId: string };
  let step: string;

  beforeAll(async () => {
    const created = await as.alice.runs.create({ name: 'alice run', sessionId: h.tag });
    run = created.run;
    const { steps } = await as.alice.runs.addSteps({ runId: run.id, steps: [{ parentId: run.rootStepId, name: 'plan' }] });
    step = steps[0]!.id;
    await as.alice.runs.updateStep({ stepId: step, status: 'running' });
  });

  it("records the creator as the run's owner", async () => {
    expect((await as.alice.runs.tree({ runId: run.id })).run).toMatchObject({ owner: { kind: 'user', id: 'alice' }, teamId: null });
  });

  it("answers NOT_FOUND to every read of another user's run: tree, paths, subtree, relatives, replay", async () => {
    await expectTrpcError(as.bob.runs.tree({ runId: run.id }), 'NOT_FOUND');
    await expectTrpcError(as.bob.runs.replay({ runId: run.id }), 'NOT_FOUND');
    await expectTrpcError(as.bob.runs.pathToRoot({ stepId: step }), 'NOT_FOUND');
    await expectTrpcError(as.bob.runs.subtree({ stepId: run.rootStepId }), 'NOT_FOUND');
    await expectTrpcError(as.bob.runs.ancestors({ stepId: step }), 'NOT_FOUND');
    await expectTrpcError(as.bob.runs.descendants({ stepId: run.rootStepId }), 'NOT_FOUND');
    await expectTrpcError(as.agent.runs.replay({ runId: run.id }), 'NOT_FOUND');
  });

  it("answers NOT_FOUND to every change of another user's run, and records none", async () => {
    await expectTrpcError(as.bob.runs.addSteps({ runId: run.id, steps: [{ parentId: run.rootStepId, name: 'intruder' }] }), 'NOT_FOUND');
    await expectTrpcError(as.bob.runs.updateStep({ stepId: step, status: 'failed' }), 'NOT_FOUND');
    await expectTrpcError(as.bob.runs.moveStep({ stepId: step, parentId: run.rootStepId }), 'NOT_FOUND');
    // bob's own run cannot hang steps under alice's, nor move his under hers: her steps do not exist for him
    const own = await as.bob.runs.create({ name: 'bob run', sessionId: h.tag });
    await expectTrpcError(as.bob.runs.addSteps({ runId: own.run.id, steps: [{ parentId: step, name: 'graft' }] }), 'NOT_FOUND');
    const { steps } = await as.bob.runs.addSteps({ runId: own.run.id, steps: [{ parentId: own.run.rootStepId, name: 'b' }] });
    await expectTrpcError(as.bob.runs.moveStep({ stepId: steps[0]!.id, parentId: step }), 'NOT_FOUND');
    const replay = await as.alice.runs.replay({ runId: run.id });
    expect(replay.run.seq).toBe(3);
    expect(replay.changes.map((c) => c.by)).toEqual(['alice', 'alice', 'alice']);
  });

  it('lets a team member read and change a team run, and services and admins any run', async () => {
    const team = await as.alice.runs.create({ name: 'team run', sessionId: h.tag, teamId: T });
    const { steps } = await as.carol.runs.addSteps({ runId: team.run.id, steps: [{ parentId: team.run.rootStepId, name: 'carol step' }] });
    expect((await as.alice.runs.tree({ runId: team.run.id })).steps.map((s) => s.name)).toEqual(['team run', 'carol step']);
    expect((await as.carol.runs.pathToRoot({ stepId: steps[0]!.id })).steps).toHaveLength(2);
    await expectTrpcError(as.bob.runs.tree({ runId: team.run.id }), 'NOT_FOUND');
    for (const who of [as.service, as.admin]) {
      expect((await who.runs.tree({ runId: run.id })).steps).toHaveLength(2);
      expect((await who.runs.replay({ runId: run.id })).changes).toHaveLength(3);
      expect((await who.runs.descendants({ stepId: run.rootStepId })).descendants).toHaveLength(1);
    }
  });
});
