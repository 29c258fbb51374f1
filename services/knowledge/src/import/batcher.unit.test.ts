import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';
import { lineProgress } from './progress.js';

describe('Batcher', () => {
  it('writes full batches, then the rest on flush, never more than inFlight at once', async () => {
    const batches: number[][] = [];
    let running = 0;
    let maxRunning = 0;
    const b = new Batcher<number>(
      3,
      async (rows) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 5));
        batches.push(rows);
        running--;
      },
      2,
    );
    for (let i = 1; i <= 10; i++) await b.push(i);
    await b.flush();
    expect(batches.flat().sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(batches.map((x) => x.length).sort()).toEqual([1, 3, 3, 3]);
    expect(maxRunning).toBe(2);
  });

  it('with oneWritePerKey, overlaps batches of different keys, never two of one key, and runs the mixed flush batches alone', async () => {
    const running: string[] = [];
    const overlaps = new Set<string>();
    const order: string[] = [];
    const b = new Batcher<string>(
      2,
      async (rows) => {
        const key = new Set(rows.map((r) => r[0])).size > 1 ? 'mixed' : rows[0]![0]!;
        for (const other of running) overlaps.add([key, other].sort().join('+'));
        running.push(key);
        order.push(rows.join(','));
        await new Promise((r) => setTimeout(r, 5));
        running.splice(running.indexOf(key), 1);
      },
      2,
      { keyOf: (row) => row[0]!, queued: 4, oneWritePerKey: true },
    );
    for (const row of ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'a5', 'a6', 'b3', 'c1']) await b.push(row);
    await b.flush();
    // a and b overlap; a never with a, nothing with a mixed batch.
    expect([...overlaps].sort()).toEqual(['a+b']);
    // One key's batches in the order they filled.
    expect(order.filter((o) => o.startsWith('a'))).toEqual(['a1,a2', 'a3,a4', 'a5,a6']);
    expect(order.at(-1)!.split(',').sort()).toEqual(['b3', 'c1']);
  });

  it('with a key, fills one batch per key and writes each when full, the remainders together on flush', async () => {
    const batches: string[][] = [];
    const b = new Batcher<string>(
      2,
      async (rows) => {
        batches.push(rows);
      },
      1,
      { keyOf: (row) => row[0]! },
    );
    for (const row of ['a1', 'b1', 'a2', 'c1', 'b2', 'a3', 'b3']) await b.push(row);
    expect(batches).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
    await b.flush();
    // The remainders go out together, up to the batch size, keys mixed.
    expect(batches.slice(2).flat().sort()).toEqual(['a3', 'b3', 'c1']);
    expect(batches.slice(2).map((x) => x.length)).toEqual([2, 1]);
  });

  it('with queued, lets batches wait behind the running one while reading goes on, still one write at a time', async () => {
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const b = new Batcher<number>(
      1,
      async (rows) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        log.push(`start ${rows[0]}`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`end ${rows[0]}`);
        running--;
      },
      1,
      { queued: 2 },
    );
    for (let i = 1; i <= 3; i++) await b.push(i);
    // Three pushes returned with only the first write started: two wait behind it.
    expect(log).toEqual(['start 1']);
    await b.push(4);
    await b.flush();
    expect(maxRunning).toBe(1);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'start 4', 'end 4']);
  });

  it('surfaces a failed write', async () => {
    const b = new Batcher<number>(1, async () => {
      throw new Error('neo4j down');
    });
    await b.push(1);
    await expect(b.flush()).rejects.toThrow('neo4j down');
  });
});

describe('lineProgress', () => {
  it('prints a start line and about one line per tenth', () => {
    const lines: string[] = [];
    const p = lineProgress((l) => lines.push(l), 60_000);
    p.start('blocks', 100);
    for (let i = 0; i < 100; i++) p.advance(1);
    p.stop();
    expect(lines[0]).toBe('blocks: starting, 100 rows');
    expect(lines.length).toBeGreaterThanOrEqual(11);
    expect(lines.length).toBeLessThanOrEqual(13);
    expect(lines.at(-1)).toMatch(/^blocks: 100\/100 \(100%\)/);
  });
});
