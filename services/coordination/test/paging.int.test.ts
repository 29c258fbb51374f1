import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, service, startTestCoordination, user, type TestCoordination } from './support/coordination.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';

/*
 * Rule: agents.list and schedules.list answer a page at a time (limit: default 100, max 500) with
 * `nextCursor` (null on the last page). Following the cursors visits every visible item exactly
 * once, in the list's order; the visibility rules still apply page by page; a limit above the max
 * (or below 1) and a cursor this service did not make are BAD_REQUEST.
 */

let nats: PrivateNats;
let coord: TestCoordination;
const operator = () => coord.as(user('operator'));

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'expected a refusal, the call succeeded').toBeInstanceOf(TRPCError);
  return (err as TRPCError).code;
}

/** Follows nextCursor from the first page to the last; returns every page's items. */
async function allPages<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    pages.push(p.items);
    cursor = p.nextCursor ?? undefined;
    expect(pages.length, 'paging did not end').toBeLessThan(100);
  } while (cursor);
  return pages;
}

beforeAll(async () => {
  nats = await startPrivateNats(4590);
  coord = await startTestCoordination(nats);
});

afterAll(async () => {
  await coord?.close();
  await nats?.destroy();
});

describe('agents.list pages', () => {
  const names = ['pg-echo', 'pg-alpha', 'pg-golf', 'pg-charlie', 'pg-foxtrot', 'pg-bravo', 'pg-delta'];

  beforeAll(async () => {
    for (const name of names)
      await coord.as(agent(name)).agents.register({ name, version: '1', capabilities: name < 'pg-d' ? ['build'] : ['proposal'] });
  });

  it('visits every agent exactly once, by name, `limit` at a time', async () => {
    const pages = await allPages(async (cursor) => {
      const p = await operator().agents.list({ limit: 3, ...(cursor ? { cursor } : {}) });
      return { items: p.agents.map((a) => a.name), nextCursor: p.nextCursor };
    });
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual([...names].sort());
    // A page that ends exactly at the last agent says so: no empty extra page.
    const exact = await operator().agents.list({ limit: names.length });
    expect([exact.agents.length, exact.nextCursor]).toEqual([names.length, null]);
  });

  it('pages within a filter', async () => {
    const pages = await allPages(async (cursor) => {
      const p = await operator().agents.list({ capability: 'build', limit: 2, ...(cursor ? { cursor } : {}) });
      return { items: p.agents.map((a) => a.name), nextCursor: p.nextCursor };
    });
    expect(pages).toEqual([['pg-alpha', 'pg-bravo'], ['pg-charlie']]);
  });

  it('answers at most 100 agents by default', async () => {
    const extra = Array.from({ length: 100 - names.length + 1 }, (_, i) => `pg-z${String(i).padStart(3, '0')}`);
    for (const name of extra) await coord.as(agent(name)).agents.register({ name, version: '1', capabilities: ['build'] });
    const first = await operator().agents.list({});
    expect(first.agents).toHaveLength(100);
    expect(first.nextCursor).not.toBeNull();
    const rest = await operator().agents.list({ cursor: first.nextCursor! });
    expect(rest.agents.map((a) => a.name)).toEqual([extra.at(-1)]);
    expect(rest.nextCursor).toBeNull();
  });

  it('refuses a limit over 500 or under 1 and a cursor it did not make', async () => {
    expect(await codeOf(operator().agents.list({ limit: 501 }))).toBe('BAD_REQUEST');
    expect(await codeOf(operator().agents.list({ limit: 0 }))).toBe('BAD_REQUEST');
    expect(await codeOf(operator().agents.list({ cursor: 'bm90IGEgY3Vyc29y' }))).toBe('BAD_REQUEST');
    expect((await operator().agents.list({ limit: 500 })).nextCursor).toBeNull();
  });
});

describe('schedules.list pages', () => {
  const mine: string[] = [];
  const bobs: string[] = [];

  beforeAll(async () => {
    // Created back to back: several share a createdAt, so the order falls back to the id.
    for (let i = 0; i < 7; i++)
      mine.push((await coord.as(user('alice')).schedules.create({ cron: '0 9 * * 1', jobType: 'proposal' })).scheduleId);
    for (let i = 0; i < 2; i++)
      bobs.push((await coord.as(user('bob')).schedules.create({ cron: '0 9 * * 1', jobType: 'proposal' })).scheduleId);
  });

  const pagesOf = (who: ReturnType<typeof user>, limit: number) =>
    allPages(async (cursor) => {
      const p = await coord.as(who).schedules.list({ limit, ...(cursor ? { cursor } : {}) });
      return { items: p.schedules, nextCursor: p.nextCursor };
    });

  it('visits every schedule the caller may see exactly once, newest first, and none it may not', async () => {
    const pages = await pagesOf(user('alice'), 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const seen = pages.flat();
    expect(seen.map((s) => s.scheduleId).sort()).toEqual([...mine].sort());
    const keys = seen.map((s) => `${s.createdAt} ${s.scheduleId}`);
    expect(keys).toEqual([...keys].sort().reverse());

    const bobsPages = await pagesOf(user('bob'), 1);
    expect(
      bobsPages
        .flat()
        .map((s) => s.scheduleId)
        .sort(),
    ).toEqual([...bobs].sort());

    const all = (await pagesOf(service(), 4)).flat().map((s) => s.scheduleId);
    expect(all.sort()).toEqual([...mine, ...bobs].sort());
  });

  it('refuses a limit over 500 or under 1 and a cursor it did not make', async () => {
    const alice = coord.as(user('alice'));
    expect(await codeOf(alice.schedules.list({ limit: 501 }))).toBe('BAD_REQUEST');
    expect(await codeOf(alice.schedules.list({ limit: 0 }))).toBe('BAD_REQUEST');
    expect(await codeOf(alice.schedules.list({ cursor: '!!' }))).toBe('BAD_REQUEST');
  });
});
