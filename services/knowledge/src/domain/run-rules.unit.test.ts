import { describe, expect, it } from 'vitest';
import type { StepChangeRecord } from '../store/runs.js';
import { assertTransition, orderStepBatch, replaySteps, treeOrder } from './run-rules.js';

const existing = new Map([
  ['root', { id: 'root', runId: 'r1' }],
  ['other', { id: 'other', runId: 'r2' }],
]);

describe('orderStepBatch', () => {
  it('puts parents before children whatever the input order', () => {
    const out = orderStepBatch(
      'r1',
      [
        { id: 'c', parentId: 'b' },
        { id: 'b', parentId: 'a' },
        { id: 'a', parentId: 'root' },
        { id: 'd', parentId: 'root' },
      ],
      existing,
    );
    expect(out.map((s) => s.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it.each([
    [
      'a cycle inside the batch',
      [
        { id: 'a', parentId: 'b' },
        { id: 'b', parentId: 'a' },
      ],
      'BAD_REQUEST',
      /cycle/,
    ],
    ['a step under itself', [{ id: 'a', parentId: 'a' }], 'BAD_REQUEST', /cycle/],
    ['a parent in another run', [{ id: 'a', parentId: 'other' }], 'BAD_REQUEST', /another run/],
    ['a parent that exists nowhere', [{ id: 'a', parentId: 'ghost' }], 'NOT_FOUND', /ghost/],
    ['a reused id', [{ id: 'root', parentId: 'root' }], 'CONFLICT', /exists/],
    [
      'a duplicate id in the batch',
      [
        { id: 'a', parentId: 'root' },
        { id: 'a', parentId: 'root' },
      ],
      'BAD_REQUEST',
      /twice/,
    ],
  ])('refuses %s', (_what, batch, code, message) => {
    expect(() => orderStepBatch('r1', batch, existing)).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });
});

describe('assertTransition', () => {
  it('allows the lifecycle and a retry after failure, refuses leaving a final status', () => {
    for (const [from, to] of [
      ['pending', 'running'],
      ['running', 'succeeded'],
      ['running', 'failed'],
      ['failed', 'running'],
      ['succeeded', 'succeeded'],
    ] as const) {
      expect(() => assertTransition('s', from, to)).not.toThrow();
    }
    for (const [from, to] of [
      ['succeeded', 'running'],
      ['cancelled', 'pending'],
      ['running', 'pending'],
      ['skipped', 'failed'],
    ] as const) {
      expect(() => assertTransition('s', from, to)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    }
  });
});

describe('tree order and replay', () => {
  it('orders depth-first with siblings in the order they were added', () => {
    const steps = [
      { id: 'root', parentId: null, addedSeq: 1 },
      { id: 'b', parentId: 'root', addedSeq: 3 },
      { id: 'a', parentId: 'root', addedSeq: 2 },
      { id: 'a1', parentId: 'a', addedSeq: 4 },
    ];
    expect(treeOrder(steps, 'root').map((s) => [s.id, s.depth])).toEqual([
      ['root', 0],
      ['a', 1],
      ['a1', 2],
      ['b', 1],
    ]);
  });

  it('rebuilds each step from its last change', () => {
    const c = (
      seq: number,
      stepId: string,
      parentId: string | null,
      status: StepChangeRecord['status'],
      kind: StepChangeRecord['kind'] = 'added',
    ): StepChangeRecord => ({
      runId: 'r',
      seq,
      stepId,
      kind,
      parentId,
      name: stepId,
      status,
      previousStatus: null,
      output: null,
      at: new Date(seq * 1000).toISOString(),
      by: 'u',
    });
    const changes = [
      c(1, 'root', null, 'pending'),
      c(2, 'a', 'root', 'pending'),
      c(3, 'b', 'root', 'pending'),
      c(4, 'a', 'root', 'running', 'status'),
      c(5, 'b', 'a', 'pending', 'moved'),
    ];
    expect(replaySteps(changes, 'root').map((s) => [s.id, s.parentId, s.status, s.depth, s.addedSeq, s.lastSeq])).toEqual([
      ['root', null, 'pending', 0, 1, 1],
      ['a', 'root', 'running', 1, 2, 4],
      ['b', 'a', 'pending', 2, 3, 5],
    ]);
    expect(replaySteps(changes.slice(0, 3), 'root').map((s) => [s.id, s.parentId, s.status])).toEqual([
      ['root', null, 'pending'],
      ['a', 'root', 'pending'],
      ['b', 'root', 'pending'],
    ]);
  });

  it('drops a removed step from the replay from its removal on (a recorded task that left for another tree)', () => {
    const c = (seq: number, stepId: string, parentId: string | null, kind: StepChangeRecord['kind'] = 'added'): StepChangeRecord => ({
      runId: 'r',
      seq,
      stepId,
      kind,
      parentId,
      name: stepId,
      status: 'pending',
      previousStatus: null,
      output: null,
      at: new Date(seq * 1000).toISOString(),
      by: 'u',
    });
    const changes = [c(1, 'root', null), c(2, 'a', 'root'), c(3, 'a1', 'a'), c(4, 'a1', 'a', 'removed'), c(5, 'a', 'root', 'removed')];
    expect(replaySteps(changes.slice(0, 3), 'root').map((s) => s.id)).toEqual(['root', 'a', 'a1']);
    expect(replaySteps(changes.slice(0, 4), 'root').map((s) => s.id)).toEqual(['root', 'a']);
    expect(replaySteps(changes, 'root').map((s) => s.id)).toEqual(['root']);
  });
});
