import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gapsIn, inProgressXids } from './event-store.js';

describe('readAll helpers', () => {
  it('reads the in-progress xids of a pg_snapshot', () => {
    expect(inProgressXids('748:748:')).toEqual([]);
    expect(inProgressXids('740:760:741,745,759')).toEqual(['741', '745', '759']);
  });

  it('finds exactly the positions missing between the checkpoint and the last visible position', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 60 }),
        (from, offsets) => {
          const visible = offsets.map((o) => from + o).sort((a, b) => a - b);
          const gaps = gapsIn(from, visible);
          const last = visible.at(-1) ?? from;
          const expected = [];
          for (let p = from + 1; p < last; p++) if (!visible.includes(p)) expected.push(p);
          expect(gaps).toEqual(expected);
        },
      ),
    );
  });
});
