import { beforeAll, describe, expect, it } from 'vitest';
import { callerFor, codeOf, testDeps, user } from './support/callers.js';
import { useScratchDb } from './support/scratch.js';

/*
 * Rule: no read answers an unbounded list. agents.list pages (limit: default 50, max 200, cursor →
 * nextCursor): following the cursors visits every agent exactly once, by name. tasks.get carries at
 * most 500 subtasks (the first in sibling order) and says `subtasksTruncated` when there are more.
 */

const s = useScratchDb('caps');

const as = (id: string, roles: string[] = []) => callerFor(testDeps(s), user(id, roles));

describe('agents.list pages', () => {
  const names = Array.from({ length: 53 }, (_, i) => `cap-agent-${String((i * 37) % 53).padStart(2, '0')}`);

  beforeAll(async () => {
    const root = as('root', ['admin']);
    for (const name of names) await root.agents.create({ name, config: { model: 'm' } });
  });

  it('visits every agent exactly once, by name, `limit` at a time; 50 by default', async () => {
    const reader = as('reader');
    const seen: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await reader.agents.list({ limit: 20, ...(cursor ? { cursor } : {}) });
      seen.push(page.items.map((a) => a.name));
      cursor = page.nextCursor ?? undefined;
      expect(seen.length).toBeLessThan(10);
    } while (cursor);
    expect(seen.map((p) => p.length)).toEqual([20, 20, 13]);
    expect(seen.flat()).toEqual([...names].sort());

    const first = await reader.agents.list({});
    expect(first.items).toHaveLength(50);
    expect(first.nextCursor).not.toBeNull();
    const rest = await reader.agents.list({ cursor: first.nextCursor! });
    expect([rest.items.length, rest.nextCursor]).toEqual([3, null]);
  });

  it('pages within a status filter', async () => {
    const root = as('root', ['admin']);
    const paused = [names[5]!, names[1]!, names[40]!];
    for (const name of paused) {
      const { id } = await root.agents.get({ name });
      await root.agents.update({ id, status: 'paused' });
    }
    const first = await root.agents.list({ status: 'paused', limit: 2 });
    const second = await root.agents.list({ status: 'paused', limit: 2, cursor: first.nextCursor! });
    expect([...first.items, ...second.items].map((a) => a.name)).toEqual([...paused].sort());
    expect(second.nextCursor).toBeNull();
  });

  it('pages within a name prefix, which matches literally (% and _ are not wildcards)', async () => {
    const root = as('root', ['admin']);
    await root.agents.create({ name: 'cap%wild_1', config: { model: 'm' } });
    const first = await root.agents.list({ namePrefix: 'cap-agent-1', limit: 6 });
    const second = await root.agents.list({ namePrefix: 'cap-agent-1', limit: 6, cursor: first.nextCursor! });
    expect([...first.items, ...second.items].map((a) => a.name)).toEqual(names.filter((n) => n.startsWith('cap-agent-1')).sort());
    expect(second.nextCursor).toBeNull();
    expect((await root.agents.list({ namePrefix: 'cap%' })).items.map((a) => a.name)).toEqual(['cap%wild_1']);
    expect((await root.agents.list({ namePrefix: 'cap_' })).items).toEqual([]);
  });

  it('refuses a limit over 200 or under 1 and a cursor it did not make', async () => {
    expect(await codeOf(as('reader').agents.list({ limit: 201 }))).toBe('BAD_REQUEST');
    expect(await codeOf(as('reader').agents.list({ limit: 0 }))).toBe('BAD_REQUEST');
    expect(await codeOf(as('reader').agents.list({ cursor: 'bm90IGpzb24' }))).toBe('BAD_REQUEST');
  });
});

describe('tasks.get subtasks', () => {
  it('answers the first 500 subtasks in sibling order and says the rest were cut', async () => {
    const dan = as('dan');
    const parent = await dan.tasks.create({ title: 'big', subtasks: [{ title: 'sub-0000' }] });
    expect(parent.subtasksTruncated).toBe(false);
    // 501 more, straight into the table (the API adds at most 100 per create): 502 in all.
    await s.admin.query(
      `INSERT INTO tasks (title, owner_id, parent_id, sibling_order)
       SELECT 'sub-' || lpad(g::text, 4, '0'), 'dan', $1, g FROM generate_series(1, 501) AS g`,
      [parent.id],
    );
    const got = await dan.tasks.get({ id: parent.id });
    expect(got.subtasksTruncated).toBe(true);
    expect(got.subtasks).toHaveLength(500);
    expect(got.subtasks.map((t) => t.title)).toEqual(Array.from({ length: 500 }, (_, i) => `sub-${String(i).padStart(4, '0')}`));

    await s.admin.query(`DELETE FROM tasks WHERE parent_id = $1 AND sibling_order > 499`, [parent.id]);
    const fits = await dan.tasks.get({ id: parent.id });
    expect([fits.subtasks.length, fits.subtasksTruncated]).toEqual([500, false]);
  });

  it('pages through rows written in one transaction (one created_at) without skipping any', async () => {
    const erin = as('erin');
    const parent = await erin.tasks.create({ title: 'many at once', subtasks: [{ title: 'first' }] });
    // 250 siblings in ONE statement: Postgres gives them all the same now(); keyset paging on
    // (created_at, id) must still visit each exactly once.
    await s.admin.query(
      `INSERT INTO tasks (title, owner_id, parent_id, sibling_order)
       SELECT 'same-' || lpad(g::text, 3, '0'), 'erin', $1, g FROM generate_series(1, 250) AS g`,
      [parent.id],
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await erin.tasks.list({ parentId: parent.id, limit: 40, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(251);
    expect(new Set(seen).size).toBe(251);
  });
});
