import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toLuceneQuery } from './search-query.js';

// Characters Lucene's classic query parser treats as syntax.
const SYNTAX = '+-&|!(){}[]^"~*?:\\/';

describe('toLuceneQuery', () => {
  it('escapes every syntax character and neutralises operator words', () => {
    expect(toLuceneQuery('C++ (templates)')).toBe('C\\+\\+ \\(templates\\)');
    expect(toLuceneQuery('title:"x" AND y OR NOT z')).toBe('title\\:\\"x\\" and y or not z');
    expect(toLuceneQuery('a && b || !c')).toBe('a \\&\\& b \\|\\| \\!c');
    expect(toLuceneQuery('   ')).toBeNull();
  });

  it('leaves no unescaped syntax character in any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...[...SYNTAX], 'a', 'Z', ' ', '1', 'é') }), (s) => {
        const q = toLuceneQuery(s);
        if (q === null) return s.trim() === '';
        // Walk the output: every syntax character must be preceded by an escaping backslash.
        for (let i = 0; i < q.length; i++) {
          if (q[i] === '\\') {
            i++;
            continue;
          }
          if (SYNTAX.includes(q[i]!)) return false;
        }
        return !/(^| )(AND|OR|NOT|TO)( |$)/.test(q);
      }),
    );
  });
});
