import { describe, expect, it } from 'vitest';
import { sharedProps } from './legacy-import.js';

describe('sharedProps', () => {
  it('sends values every row shares once and the rest per row without nulls, so setting both gives each row in full', () => {
    const rows = [
      { ownerId: 'u1', createdBy: 'import', teamId: null, reason: 'a', degree: null, flags: ['x'] },
      { ownerId: 'u1', createdBy: 'import', teamId: null, reason: 'b', degree: 'full', flags: ['x'] },
    ];
    const { shared, perRow } = sharedProps(rows);
    expect(shared).toEqual({ ownerId: 'u1', createdBy: 'import' });
    expect(perRow).toEqual([
      { reason: 'a', flags: ['x'] },
      { reason: 'b', degree: 'full', flags: ['x'] },
    ]);
    const nonNull = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== null));
    perRow.forEach((p, i) => expect({ ...p, ...shared }).toEqual(nonNull(rows[i]!)));
  });

  it('keeps a value per row when some row differs or lacks it', () => {
    const { shared, perRow } = sharedProps([{ a: 1, b: 2 }, { a: 1, b: 3 }, { b: 2 }]);
    expect(shared).toEqual({});
    expect(perRow).toEqual([{ a: 1, b: 2 }, { a: 1, b: 3 }, { b: 2 }]);
  });
});
