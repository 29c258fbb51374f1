import { describe, expect, it } from 'vitest';
import { deferred } from './deferred.js';

describe('deferred', () => {
  it('reads every property from the current value, and throws what get throws before there is one', () => {
    const box: { value?: { n: number; twice(): number } } = {};
    const d = deferred(() => {
      if (!box.value) throw new Error('not yet');
      return box.value;
    });
    expect(() => d.n).toThrow('not yet');
    box.value = { n: 2, twice: () => 4 };
    expect(d.n).toBe(2);
    expect(d.twice()).toBe(4);
    expect({ ...d }).toEqual(box.value);
    expect('n' in d).toBe(true);
  });
});
