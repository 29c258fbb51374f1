import type { SagaStatusName } from '../../store/sagas.js';
import type { SagaDefinition } from './definition.js';

/**
 * The saga state machine, without I/O: given where a saga stands and how the last attempt of a
 * step went, what the runner does next. run-saga.ts does the doing (runs steps, persists, waits).
 */

export type Phase = 'action' | 'compensation';

/** Where a saga stands. While compensating, `currentStep` is the highest step that may still need undoing. */
export interface SagaPosition {
  status: SagaStatusName;
  currentStep: number;
}

/** How the last attempt of a step went. */
export type StepOutcome =
  | { phase: Phase; index: number; ok: true }
  | {
      phase: Phase;
      index: number;
      ok: false;
      /** The attempt that failed (1 for the first). */
      attempt: number;
      /** Its retry policy's attempts. */
      maxAttempts: number;
      /** The step said no retry will help (PermanentStepError). */
      permanent: boolean;
    };

/** A step compensation reaches: its index and name (the name goes into the step notices). */
export interface StepRef {
  index: number;
  name: string;
}

export type SagaNext =
  /** Run this step's action or compensation, from its first attempt. */
  | { kind: 'run'; phase: Phase; index: number }
  /** Try the step again: `attempt` is the next attempt's number (after the policy's backoff). */
  | { kind: 'retry'; phase: Phase; index: number; attempt: number }
  /**
   * The saga compensates (or goes on compensating) from `currentStep` down: an action gave up, or
   * a compensation succeeded. `next` is the step compensation reaches first (null: nothing left).
   */
  | { kind: 'compensate'; currentStep: number; next: StepRef | null }
  /** The saga ends with `status`, at `currentStep`. */
  | { kind: 'finish'; status: 'completed' | 'compensated' | 'failed'; currentStep: number }
  /** The saga has already ended: nothing to do. */
  | { kind: 'idle' };

/** What a saga does next from where it stands (no step outcome pending): run a step, end undone, or nothing. */
export type SagaStart = Extract<SagaNext, { kind: 'run' | 'idle' }> | { kind: 'finish'; status: 'compensated'; currentStep: -1 };

/** What a saga does once a step is over (succeeded, or gave up): anything but retry it. */
export type SagaAfter = Exclude<SagaNext, { kind: 'idle' | 'retry' }>;

/** The step compensation reaches next from `from` down (steps without a compensation are passed over), or null. */
export function nextCompensable(def: SagaDefinition<unknown>, from: number): StepRef | null {
  for (let i = from; i >= 0; i--) if (def.steps[i]!.compensate) return { index: i, name: def.steps[i]!.name };
  return null;
}

/**
 * Forward, steps run in order and the saga completes after the last. A failed attempt is retried
 * until its policy's attempts are used up (at once, when the step says it is permanent); an action
 * that gives up turns the saga to compensating, which undoes the completed steps last first,
 * passing over steps that have no compensation, and ends compensated. A compensation that gives up
 * ends the saga failed, where it stands: it needs a human.
 */
export function nextSagaStep(def: SagaDefinition<unknown>, state: SagaPosition): SagaStart;
export function nextSagaStep(def: SagaDefinition<unknown>, state: SagaPosition, last: Extract<StepOutcome, { ok: true }>): SagaAfter;
export function nextSagaStep(
  def: SagaDefinition<unknown>,
  state: SagaPosition,
  last: StepOutcome,
): SagaAfter | Extract<SagaNext, { kind: 'retry' }>;
export function nextSagaStep(def: SagaDefinition<unknown>, state: SagaPosition, last?: StepOutcome): SagaNext {
  if (!last) {
    if (state.status === 'running') return { kind: 'run', phase: 'action', index: state.currentStep };
    if (state.status !== 'compensating') return { kind: 'idle' };
    const undo = nextCompensable(def, state.currentStep);
    return undo ? { kind: 'run', phase: 'compensation', index: undo.index } : { kind: 'finish', status: 'compensated', currentStep: -1 };
  }
  const { phase, index } = last;
  if (!last.ok && !last.permanent && last.attempt < last.maxAttempts) return { kind: 'retry', phase, index, attempt: last.attempt + 1 };
  if (phase === 'action' && last.ok) {
    return index >= def.steps.length - 1
      ? { kind: 'finish', status: 'completed', currentStep: index + 1 }
      : { kind: 'run', phase: 'action', index: index + 1 };
  }
  // An action that gave up, or a compensation done: undo what lies below.
  if (phase === 'action' || last.ok) return { kind: 'compensate', currentStep: index - 1, next: nextCompensable(def, index - 1) };
  return { kind: 'finish', status: 'failed', currentStep: index };
}
