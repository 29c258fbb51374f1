import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, toPage } from './pagination.js';

describe('keyset pagination', () => {
  it('round-trips a cursor and refuses a forged one', () => {
    const key = { createdAt: new Date('2026-11-23T10:00:00.123Z'), id: '0b8c6c1e-6a43-4c49-8d7c-4c1f0a1f2b3c' };
    expect(decodeCursor(encodeCursor(key))).toEqual(key);
    expect(() => decodeCursor('bm90IGpzb24')).toThrow(/invalid cursor/);
  });

  it('returns a next cursor only when more rows exist', () => {
    const rows = [1, 2, 3].map((i) => ({ createdAt: new Date(i * 1000), id: String(i) }));
    expect(toPage(rows.slice(0, 2), 2).nextCursor).toBeNull();
    const page = toPage(rows, 2);
    expect(page.items).toHaveLength(2);
    expect(decodeCursor(page.nextCursor!).id).toBe('2');
  });
});
