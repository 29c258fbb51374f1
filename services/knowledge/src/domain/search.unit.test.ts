import { describe, expect, it } from 'vitest';
import type { BlockRecord } from '../store/block-record.js';
import { addExpansions, mergeDirect, rank } from './search.js';

const block = (id: string) => ({ id }) as BlockRecord;
const w = { fullText: 0.5, vector: 0.5, graph: 0.3 };

describe('hybrid merge', () => {
  it('normalises full-text by the best score and adds the weighted vector score', () => {
    const hits = rank(
      mergeDirect(
        [
          { block: block('a'), score: 8 },
          { block: block('b'), score: 2 },
        ],
        [
          { block: block('b'), score: 0.9 },
          { block: block('c'), score: 0.6 },
        ],
        w,
      ),
      10,
    );
    expect(hits.map((h) => [h.block.id, h.score, h.matchedBy])).toEqual([
      ['b', 0.5 * 0.25 + 0.5 * 0.9, ['fullText', 'vector']],
      ['a', 0.5, ['fullText']],
      ['c', 0.3, ['vector']],
    ]);
    expect(hits[0]!.scores).toEqual({ fullText: 2, vector: 0.9, graph: null });
  });

  it('scores neighbours by their best seed times link confidence, keeping direct scores', () => {
    const direct = mergeDirect(
      [
        { block: block('a'), score: 4 },
        { block: block('b'), score: 2 },
      ],
      [],
      w,
    );
    const hits = rank(
      addExpansions(
        direct,
        [
          { seedId: 'a', type: 'SUPPORTS', outgoing: true, confidence: 0.5, block: block('x') },
          { seedId: 'b', type: 'RELATES_TO', outgoing: false, confidence: null, block: block('x') },
          { seedId: 'a', type: 'DEPENDS_ON', outgoing: false, confidence: 1, block: block('b') },
        ],
        w,
      ),
      10,
    );
    const x = hits.find((h) => h.block.id === 'x')!;
    expect(x).toMatchObject({
      matchedBy: ['graph'],
      scores: { fullText: null, vector: null, graph: 0.25 },
      via: { blockId: 'a', type: 'SUPPORTS', direction: 'out' },
    });
    expect(x.score).toBeCloseTo(0.3 * 0.25);
    const b = hits.find((h) => h.block.id === 'b')!;
    expect(b.matchedBy).toEqual(['fullText', 'graph']);
    expect(b.score).toBeCloseTo(0.25 + 0.3 * 0.5);
  });

  it('ranks ties by id and cuts at the limit', () => {
    const hits = rank(
      mergeDirect(
        [],
        [
          { block: block('z'), score: 0.5 },
          { block: block('a'), score: 0.5 },
          { block: block('m'), score: 0.1 },
        ],
        w,
      ),
      2,
    );
    expect(hits.map((h) => h.block.id)).toEqual(['a', 'z']);
  });
});
