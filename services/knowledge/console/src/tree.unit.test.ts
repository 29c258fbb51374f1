import { describe, expect, it } from 'vitest';
import { buildTree, durationMs, formatDuration, pathToRoot, stepTimings, type Change } from './tree.js';

const step = (id: string, parentId: string | null) => ({ id, parentId });

describe('buildTree', () => {
  it('nests steps under their parents in the order given', () => {
    const roots = buildTree([step('r', null), step('a', 'r'), step('a1', 'a'), step('b', 'r')]);
    expect(roots.map((n) => n.step.id)).toEqual(['r']);
    expect(roots[0]!.children.map((n) => n.step.id)).toEqual(['a', 'b']);
    expect(roots[0]!.children[0]!.children.map((n) => n.step.id)).toEqual(['a1']);
  });

  it('keeps a step whose parent was cut off (truncated answer) as a root of its own', () => {
    const roots = buildTree([step('r', null), step('orphan', 'missing')]);
    expect(roots.map((n) => n.step.id)).toEqual(['r', 'orphan']);
  });
});

describe('pathToRoot', () => {
  it('walks from the step to the root', () => {
    const steps = [step('r', null), step('a', 'r'), step('a1', 'a'), step('b', 'r')];
    expect(pathToRoot(steps, 'a1')).toEqual(['a1', 'a', 'r']);
    expect(pathToRoot(steps, 'r')).toEqual(['r']);
    expect(pathToRoot(steps, 'nope')).toEqual([]);
  });

  it('stops on a cycle instead of looping', () => {
    expect(pathToRoot([step('x', 'y'), step('y', 'x')], 'x')).toEqual(['x', 'y']);
  });
});

describe('stepTimings', () => {
  const c = (seq: number, stepId: string, kind: Change['kind'], status: Change['status'], at: string): Change => ({
    seq,
    stepId,
    kind,
    status,
    at,
  });

  it('starts a step when it goes running and finishes it at its terminal status, whatever order the changes come in', () => {
    const t = stepTimings([
      c(3, 's', 'status', 'succeeded', '2026-01-01T00:00:05.000Z'),
      c(1, 's', 'added', 'pending', '2026-01-01T00:00:00.000Z'),
      c(2, 's', 'status', 'running', '2026-01-01T00:00:02.000Z'),
    ]);
    expect(t.get('s')).toEqual({ startedAt: '2026-01-01T00:00:02.000Z', finishedAt: '2026-01-01T00:00:05.000Z' });
    expect(durationMs(t.get('s'), 0)).toBe(3_000);
  });

  it('a running step has no finish and its duration grows with now; output changes do not move times', () => {
    const t = stepTimings([
      c(1, 's', 'added', 'running', '2026-01-01T00:00:00.000Z'),
      c(2, 's', 'output', 'running', '2026-01-01T00:00:09.000Z'),
    ]);
    expect(t.get('s')).toEqual({ startedAt: '2026-01-01T00:00:00.000Z', finishedAt: null });
    expect(durationMs(t.get('s'), Date.parse('2026-01-01T00:00:01.500Z'))).toBe(1_500);
  });

  it('a step retried (back to running after failing) is unfinished again; a pending step has not started', () => {
    const t = stepTimings([
      c(1, 's', 'added', 'running', '2026-01-01T00:00:00.000Z'),
      c(2, 's', 'status', 'failed', '2026-01-01T00:00:01.000Z'),
      c(3, 's', 'status', 'running', '2026-01-01T00:00:02.000Z'),
      c(4, 'p', 'added', 'pending', '2026-01-01T00:00:02.000Z'),
    ]);
    expect(t.get('s')?.finishedAt).toBeNull();
    expect(durationMs(t.get('p'), 0)).toBeNull();
  });
});

describe('formatDuration', () => {
  it('reads like a person would say it', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1_234)).toBe('1.2 s');
    expect(formatDuration(125_000)).toBe('2 m 05 s');
    expect(formatDuration(3_900_000)).toBe('1 h 05 m');
  });
});
