import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSaga } from './definition.js';
import { nextCompensable, nextSagaStep, type Phase, type StepOutcome } from './next-step.js';

const undoable = (name: string) => ({ name, action: async () => null, compensate: async () => undefined });
const final = (name: string) => ({ name, action: async () => null });

// a (undoable), b (nothing to undo), c (undoable), d (undoable)
const saga = defineSaga({ type: 'four', payload: z.object({}), steps: [undoable('a'), final('b'), undoable('c'), undoable('d')] });

const ok = (phase: Phase, index: number): StepOutcome => ({ phase, index, ok: true });
const failed = (phase: Phase, index: number, attempt: number, maxAttempts = 3, permanent = false): StepOutcome => ({
  phase,
  index,
  ok: false,
  attempt,
  maxAttempts,
  permanent,
});
const running = (currentStep: number) => ({ status: 'running' as const, currentStep });
const compensating = (currentStep: number) => ({ status: 'compensating' as const, currentStep });

describe('nextSagaStep from where the saga stands', () => {
  it('running: runs the action of the current step', () => {
    expect(nextSagaStep(saga, running(0))).toEqual({ kind: 'run', phase: 'action', index: 0 });
    expect(nextSagaStep(saga, running(2))).toEqual({ kind: 'run', phase: 'action', index: 2 });
  });

  it('compensating: undoes the highest step that has a compensation, passing over the others', () => {
    expect(nextSagaStep(saga, compensating(2))).toEqual({ kind: 'run', phase: 'compensation', index: 2 });
    expect(nextSagaStep(saga, compensating(1))).toEqual({ kind: 'run', phase: 'compensation', index: 0 });
  });

  it('compensating with nothing left to undo: ends compensated', () => {
    expect(nextSagaStep(saga, compensating(-1))).toEqual({ kind: 'finish', status: 'compensated', currentStep: -1 });
    const nothingToUndo = defineSaga({ type: 'plain', payload: z.object({}), steps: [final('x'), final('y')] });
    expect(nextSagaStep(nothingToUndo, compensating(1))).toEqual({ kind: 'finish', status: 'compensated', currentStep: -1 });
  });

  it.each(['completed', 'compensated', 'failed'] as const)('%s: nothing to do', (status) => {
    expect(nextSagaStep(saga, { status, currentStep: 1 })).toEqual({ kind: 'idle' });
  });
});

describe('nextSagaStep after a step', () => {
  it('an action that succeeded: the next action', () => {
    expect(nextSagaStep(saga, running(1), ok('action', 1))).toEqual({ kind: 'run', phase: 'action', index: 2 });
  });

  it('the last action succeeded: completed, past the last step', () => {
    expect(nextSagaStep(saga, running(3), ok('action', 3))).toEqual({ kind: 'finish', status: 'completed', currentStep: 4 });
  });

  it.each<Phase>(['action', 'compensation'])('a failed %s attempt with attempts left: retried with the next attempt number', (phase) => {
    expect(nextSagaStep(saga, running(2), failed(phase, 2, 1))).toEqual({ kind: 'retry', phase, index: 2, attempt: 2 });
    expect(nextSagaStep(saga, running(2), failed(phase, 2, 2))).toEqual({ kind: 'retry', phase, index: 2, attempt: 3 });
  });

  it('an action that used up its attempts: compensates from the step below, naming the first to undo', () => {
    expect(nextSagaStep(saga, running(3), failed('action', 3, 3))).toEqual({
      kind: 'compensate',
      currentStep: 2,
      next: { index: 2, name: 'c' },
    });
    // b has no compensation: compensation reaches a first
    expect(nextSagaStep(saga, running(2), failed('action', 2, 3))).toEqual({
      kind: 'compensate',
      currentStep: 1,
      next: { index: 0, name: 'a' },
    });
  });

  it('a permanent failure gives up at once', () => {
    expect(nextSagaStep(saga, running(2), failed('action', 2, 1, 3, true))).toEqual({
      kind: 'compensate',
      currentStep: 1,
      next: { index: 0, name: 'a' },
    });
    expect(nextSagaStep(saga, compensating(2), failed('compensation', 2, 1, 6, true))).toEqual({
      kind: 'finish',
      status: 'failed',
      currentStep: 2,
    });
  });

  it('the first action failing: compensation with nothing to undo', () => {
    expect(nextSagaStep(saga, running(0), failed('action', 0, 3))).toEqual({ kind: 'compensate', currentStep: -1, next: null });
  });

  it('a compensation that succeeded: goes on with the next one down, or with none', () => {
    expect(nextSagaStep(saga, compensating(3), ok('compensation', 3))).toEqual({
      kind: 'compensate',
      currentStep: 2,
      next: { index: 2, name: 'c' },
    });
    expect(nextSagaStep(saga, compensating(2), ok('compensation', 2))).toEqual({
      kind: 'compensate',
      currentStep: 1,
      next: { index: 0, name: 'a' },
    });
    expect(nextSagaStep(saga, compensating(0), ok('compensation', 0))).toEqual({ kind: 'compensate', currentStep: -1, next: null });
  });

  it('a compensation that used up its attempts: the saga fails where it stands', () => {
    expect(nextSagaStep(saga, compensating(2), failed('compensation', 2, 6, 6))).toEqual({
      kind: 'finish',
      status: 'failed',
      currentStep: 2,
    });
  });
});

describe('a whole run, driven by nextSagaStep alone', () => {
  /** Plays the runner: applies each decision to the position, with `fails(phase, index)` saying which steps give up. */
  function play(fails: (phase: Phase, index: number) => boolean): string[] {
    let state: { status: 'running' | 'compensating' | 'completed' | 'compensated' | 'failed'; currentStep: number } = running(0);
    const trace: string[] = [];
    for (let guard = 0; guard < 50; guard++) {
      const next = nextSagaStep(saga, state);
      if (next.kind === 'idle') return trace;
      if (next.kind === 'finish') {
        state = { status: next.status, currentStep: next.currentStep };
        trace.push(next.status);
        continue;
      }
      const { phase, index } = next;
      trace.push(`${phase === 'action' ? 'do' : 'undo'} ${saga.steps[index]!.name}`);
      const then = nextSagaStep(saga, state, fails(phase, index) ? failed(phase, index, 3, 3) : ok(phase, index));
      if (then.kind === 'run') state = { status: 'running', currentStep: then.index };
      else if (then.kind === 'compensate') state = { status: 'compensating', currentStep: then.currentStep };
      else if (then.kind === 'finish') {
        state = { status: then.status, currentStep: then.currentStep };
        trace.push(then.status);
      }
    }
    throw new Error('the saga did not end');
  }

  it('completes when every action succeeds', () => {
    expect(play(() => false)).toEqual(['do a', 'do b', 'do c', 'do d', 'completed']);
  });

  it('undoes the done steps last first when an action gives up, and ends compensated', () => {
    expect(play((phase, i) => phase === 'action' && i === 3)).toEqual(['do a', 'do b', 'do c', 'do d', 'undo c', 'undo a', 'compensated']);
  });

  it('ends failed when a compensation gives up, without undoing further', () => {
    expect(play((phase, i) => (phase === 'action' && i === 3) || (phase === 'compensation' && i === 2))).toEqual([
      'do a',
      'do b',
      'do c',
      'do d',
      'undo c',
      'failed',
    ]);
  });
});

describe('nextCompensable', () => {
  it('finds the highest step at or below `from` with a compensation', () => {
    expect(nextCompensable(saga, 3)).toEqual({ index: 3, name: 'd' });
    expect(nextCompensable(saga, 1)).toEqual({ index: 0, name: 'a' });
    expect(nextCompensable(saga, -1)).toBeNull();
  });
});
