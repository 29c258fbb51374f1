import type { Principal } from '@platform/contracts';
import { staticTeamDirectory } from '@platform/kit';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTrpcError, zodPaths } from './support/errors.js';
import { startHarness, type Harness, type KnowledgeCaller } from './support/harness.js';

/*
 * runs.list (issue 15, item 4): runs filtered by status, name, session, team, owner and start
 * time, newest first, paged by cursor, only what the caller may see. Real Neo4j.
 *
 * alice and carol share team T; bob is in no team. Runs (clock set per run, one minute apart):
 *   m0 … m4   alice's own (m1 and m3 in session `<tag>-b`); roots: m0 running, m2 succeeded, m4 failed
 *   team      carol's, shared with T (alice sees it)
 *   bobs      bob's own (alice never sees it)
 */
const T = randomUUID();
const teams = staticTeamDirectory({ alice: [T], carol: [T] });
const user = (id: string, roles: string[] = []): Principal => ({ kind: 'user', id, roles });
const BASE = Date.parse('2031-03-01T10:00:00.000Z');
const at = (minute: number) => new Date(BASE + minute * 60_000).toISOString();

let h: Harness;
let alice: KnowledgeCaller;
const id: Record<string, string> = {};
let prefix: string;

/** The run names of a list answer, for readable assertions. */
const names = (page: { items: Array<{ name: string }> }) => page.items.map((r) => r.name.slice(prefix.length));

beforeAll(async () => {
  h = await startHarness('kb-runs', { teams });
  alice = h.caller(user('alice'));
  prefix = `${h.tag} `;
  let minute = 0;
  const make = async (
    caller: KnowledgeCaller,
    name: string,
    extra: { sessionId?: string; teamId?: string } = {},
    status?: 'running' | 'succeeded' | 'failed',
  ) => {
    const now = at(minute++);
    h.deps.clock = () => new Date(now);
    const { run, root } = await caller.runs.create({
      name: `${prefix}${name}`,
      sessionId: extra.sessionId ?? h.tag,
      ...(extra.teamId ? { teamId: extra.teamId } : {}),
    });
    if (status === 'failed') await caller.runs.updateStep({ stepId: root.id, status: 'running' });
    if (status) await caller.runs.updateStep({ stepId: root.id, status });
    id[name] = run.id;
  };
  await make(alice, 'm0', {}, 'running');
  await make(alice, 'm1', { sessionId: `${h.tag}-b` });
  await make(alice, 'm2', {}, 'succeeded');
  await make(alice, 'm3', { sessionId: `${h.tag}-b` });
  await make(h.caller(user('carol')), 'team', { teamId: T });
  await make(h.caller(user('bob')), 'bobs');
  await make(alice, 'm4', {}, 'failed');
  h.deps.clock = () => new Date();
});
afterAll(async () => h?.cleanup());

describe('runs.list', () => {
  it('lists what the caller sees, newest first, with each run’s status (its root’s)', async () => {
    const page = await alice.runs.list({ namePrefix: prefix });
    expect(names(page)).toEqual(['m4', 'team', 'm3', 'm2', 'm1', 'm0']);
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((r) => r.status)).toEqual(['failed', 'pending', 'pending', 'succeeded', 'pending', 'running']);
    expect(page.items[1]).toMatchObject({ id: id['team'], owner: { kind: 'user', id: 'carol' }, teamId: T, createdAt: at(4) });
    expect(names(await h.caller(user('bob')).runs.list({ namePrefix: prefix }))).toEqual(['bobs']);
    // Services and platform admins see every run.
    expect(names(await h.caller({ kind: 'service', id: 'operations', roles: ['service'] }).runs.list({ namePrefix: prefix }))).toHaveLength(
      7,
    );
    expect(names(await h.caller(user('root', ['admin'])).runs.list({ namePrefix: prefix }))).toContain('bobs');
  });

  it('pages by cursor without gaps or repeats, however the page size falls', async () => {
    for (const limit of [1, 2, 4]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await alice.runs.list({ namePrefix: prefix, limit, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...names(page));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      expect(seen).toEqual(['m4', 'team', 'm3', 'm2', 'm1', 'm0']);
      expect(pages).toBe(Math.ceil(6 / limit));
    }
    // A cursor keeps the filters it is used with.
    const first = await alice.runs.list({ namePrefix: prefix, status: 'pending', limit: 1 });
    expect(names(first)).toEqual(['team']);
    expect(names(await alice.runs.list({ namePrefix: prefix, status: 'pending', limit: 5, cursor: first.nextCursor! }))).toEqual([
      'm3',
      'm1',
    ]);
  });

  it('filters by status, name, session, team, owner and start time (all given filters at once)', async () => {
    const list = async (f: Omit<Parameters<KnowledgeCaller['runs']['list']>[0], 'namePrefix'>) =>
      names(await alice.runs.list({ namePrefix: prefix, ...f }));
    expect(await list({ status: 'succeeded' })).toEqual(['m2']);
    expect(await list({ status: 'cancelled' })).toEqual([]);
    expect(names(await alice.runs.list({ name: `${prefix}m3` }))).toEqual(['m3']);
    expect(names(await alice.runs.list({ name: `${prefix}m` }))).toEqual([]); // exact, not a prefix
    expect(await list({ sessionId: `${h.tag}-b` })).toEqual(['m3', 'm1']);
    expect(await list({ teamId: T })).toEqual(['team']);
    expect(await list({ ownerId: 'carol' })).toEqual(['team']);
    expect(await list({ ownerId: 'bob' })).toEqual([]); // bob's run exists, alice may not see it
    expect(await list({ startedAfter: at(2), startedBefore: at(4) })).toEqual(['m3', 'm2']); // from inclusive, to exclusive
    expect(await list({ startedAfter: at(3), status: 'pending', ownerId: 'alice' })).toEqual(['m3']);
  });

  it('refuses bad input as BAD_REQUEST naming the field: page size over the cap, a foreign cursor, an empty time window', async () => {
    expect(zodPaths(await expectTrpcError(alice.runs.list({ limit: 201 }), 'BAD_REQUEST'))).toEqual(['limit']);
    expect(zodPaths(await expectTrpcError(alice.runs.list({ status: 'done' as never }), 'BAD_REQUEST'))).toEqual(['status']);
    expect(zodPaths(await expectTrpcError(alice.runs.list({ startedAfter: at(3), startedBefore: at(3) }), 'BAD_REQUEST'))).toEqual([
      'startedBefore',
    ]);
    await expectTrpcError(alice.runs.list({ cursor: 'not-a-cursor' }), 'BAD_REQUEST');
    expect((await alice.runs.list({ namePrefix: prefix })).items.length).toBe(6); // the default page holds them all
  });
});
