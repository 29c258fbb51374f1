import { createEnvelope, withSpan, type Clock, type IdGenerator, type Logger } from '@platform/kit';
import { appendToStream, type NewEvent } from '../../store/event-store.js';
import { appendOutboxSql } from '../../store/outbox.js';
import type { Db } from '../../store/prisma.js';
import type { SqlPool } from '../../store/sql.js';
import { persistProgress, type Progress, type SagaRow, type SagaStatusName, type StepLogEntry } from '../../store/sagas.js';
import { asSystemSql } from '../../store/scope.js';
import {
  backoffDelay,
  DEFAULT_ACTION_RETRY,
  DEFAULT_COMPENSATION_RETRY,
  DEFAULT_STEP_TIMEOUT_MS,
  PermanentStepError,
  retryPolicy,
  type RetryPolicy,
  type SagaDefinition,
  type SagaRegistry,
  type SagaStep,
} from './definition.js';
import { stepKey } from './idempotency.js';
import { LeaseLostError, type Lease } from './leases.js';
import { nextSagaStep, type Phase, type SagaAfter } from './next-step.js';

/** Timing of one persisted step outcome (the bench's "step overhead" is persistMs). */
export interface StepTiming {
  sagaId: string;
  sagaType: string;
  step: string;
  phase: 'action' | 'compensation';
  outcome: StepLogEntry['outcome'];
  actionMs: number;
  persistMs: number;
}

export interface RunnerDeps {
  db: Db;
  sql: SqlPool;
  registry: SagaRegistry;
  /** This replica's lease owner id. */
  owner: string;
  leaseMs: number;
  log: Logger;
  clock: Clock;
  newId: IdGenerator;
  /** Checked between steps: a stopping replica hands its sagas back instead of starting a new step. */
  isStopping: () => boolean;
  onStep?: (t: StepTiming) => void;
}

export type RunOutcome = 'finished' | 'released' | 'lease_lost';

const SAGA_AGGREGATE = 'saga';

interface State {
  status: SagaStatusName;
  currentStep: number;
  outputs: Record<string, unknown>;
  version: number;
}

/** A step change announced as `operations.saga.step.changed` (the persist fills in saga and version). */
export interface StepNotice {
  index: number;
  name: string;
  phase: Phase;
  status: 'running' | 'retrying' | 'succeeded' | 'failed';
  attempt: number;
  output?: unknown;
  error?: string | null;
}

/** Largest step output an event carries whole; a larger one travels as a preview (the saga row has it all). */
const OUTPUT_SUMMARY_CHARS = 2_000;

/** A step's output as its event carries it: whole when small, else its first characters. */
export function outputSummary(value: unknown): unknown {
  const json = JSON.stringify(value ?? null);
  return json.length <= OUTPUT_SUMMARY_CHARS ? (value ?? null) : { truncated: true, preview: json.slice(0, OUTPUT_SUMMARY_CHARS) };
}

type Attempt =
  { ok: true; value: unknown; entry: StepLogEntry; ms: number } | { ok: false; error: string; entry: StepLogEntry; ms: number };

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one leased saga until it finishes (completed / compensated / failed), this replica stops, or the
 * lease is lost. Forward: steps in order; a step that exhausts its retries (or throws
 * PermanentStepError) switches the saga to compensating, which undoes the completed steps in reverse.
 * After every attempt outcome the state is persisted — SagaInstance row + an event in the saga's
 * stream + (on status changes) an outbox row — in one transaction fenced by lease owner and version,
 * so a process killed at any point resumes from the last persisted step on any replica.
 */
export async function runSaga(deps: RunnerDeps, row: SagaRow, lease: Lease): Promise<RunOutcome> {
  const def = deps.registry.get(row.type);
  if (!def) throw new Error(`no definition for saga type ${row.type}`);
  let state: State = {
    status: row.status,
    currentStep: row.currentStep,
    outputs: { ...((row.outputs as Record<string, unknown> | null) ?? {}) },
    version: row.version,
  };

  const persist = async (
    p: Omit<Progress, 'version'>,
    events: NewEvent[],
    notify?: Exclude<SagaStatusName, 'running'>,
    steps: StepNotice[] = [],
  ): Promise<number> => {
    const t0 = performance.now();
    const version = state.version + events.length;
    await asSystemSql(deps.sql, 'saga-orchestrator', async (tx) => {
      if (!(await persistProgress(tx, row.id, deps.owner, state.version, { ...p, version }, deps.leaseMs)))
        throw new LeaseLostError(`lost the lease of saga ${row.id}`);
      await appendToStream({ tx, reader: deps.sql }, row.id, SAGA_AGGREGATE, events, state.version, { now: deps.clock() });
      // Step events first, then the saga's: a consumer applying them in order sees the step end before the saga does.
      for (const n of steps) {
        const data = { sagaId: row.id, sagaType: row.type, startedBy: row.startedBy, version, ...n, error: n.error ?? null };
        await appendOutboxSql(tx, createEnvelope('operations', 'operations.saga.step.changed', data, deps));
      }
      if (notify) {
        const data = {
          sagaId: row.id,
          sagaType: row.type,
          status: p.status,
          currentStep: p.currentStep,
          startedBy: row.startedBy,
          error: p.error ?? null,
          version,
        };
        await appendOutboxSql(tx, createEnvelope('operations', `operations.saga.${notify}`, data, deps));
      }
    });
    // The fenced UPDATE extended the lease too (from the database's now(), after t0).
    lease.confirmed(t0);
    state = { status: p.status, currentStep: p.currentStep, outputs: { ...state.outputs, ...p.outputs }, version };
    return performance.now() - t0;
  };

  const report = (step: SagaStep<unknown>, phase: Phase, a: Attempt, persistMs: number) =>
    deps.onStep?.({ sagaId: row.id, sagaType: row.type, step: step.name, phase, outcome: a.entry.outcome, actionMs: a.ms, persistMs });

  try {
    for (;;) {
      const next = nextSagaStep(def, state);
      if (next.kind === 'idle') break;
      if (lease.lost()) return 'lease_lost';
      if (deps.isStopping()) return 'released';
      if (next.kind === 'finish') {
        // Compensating with nothing (left) to undo.
        await persist(
          { status: 'compensated', currentStep: -1, log: [], finished: true },
          [{ type: 'SagaCompensated', data: {} }],
          'compensated',
        );
        continue;
      }
      const { phase, index } = next;
      const step = def.steps[index]!;
      // Steps passed over without a compensation: the next persist records the position.
      if (phase === 'compensation') state = { ...state, currentStep: index };
      const { attempt: a, then } = await attempts(deps, def, row, state, step, index, phase, lease, persist);
      if (phase === 'action' && a.ok) {
        const last = then.kind === 'finish';
        const events: NewEvent[] = [
          { type: 'StepSucceeded', data: { step: step.name, index, attempt: a.entry.attempt, output: a.value ?? null } },
        ];
        if (last) events.push({ type: 'SagaCompleted', data: {} });
        const notices: StepNotice[] = [
          { index, name: step.name, phase: 'action', status: 'succeeded', attempt: a.entry.attempt, output: outputSummary(a.value) },
        ];
        if (then.kind === 'run')
          notices.push({ index: then.index, name: def.steps[then.index]!.name, phase: 'action', status: 'running', attempt: 0 });
        const ms = await persist(
          {
            status: last ? 'completed' : 'running',
            currentStep: index + 1,
            outputs: { [step.name]: a.value ?? null },
            log: [a.entry],
            finished: last,
          },
          events,
          last ? 'completed' : undefined,
          notices,
        );
        report(step, 'action', a, ms);
      } else if (then.kind === 'compensate') {
        // An action gave up (the saga turns to compensating), or a compensation is done (it goes on).
        const notices: StepNotice[] = [
          {
            index,
            name: step.name,
            phase,
            status: a.ok ? 'succeeded' : 'failed',
            attempt: a.entry.attempt,
            ...(a.ok ? {} : { error: a.error }),
          },
        ];
        if (then.next) notices.push({ ...then.next, phase: 'compensation', status: 'running', attempt: 0 });
        const ms = a.ok
          ? await persist(
              { status: 'compensating', currentStep: then.currentStep, log: [a.entry] },
              [{ type: 'StepCompensated', data: { step: step.name, index, attempt: a.entry.attempt } }],
              undefined,
              notices,
            )
          : await persist(
              { status: 'compensating', currentStep: then.currentStep, log: [a.entry], error: `${step.name}: ${a.error}` },
              [{ type: 'StepFailed', data: { step: step.name, index, attempt: a.entry.attempt, error: a.error } }],
              'compensating',
              notices,
            );
        report(step, phase, a, ms);
      } else if (then.kind === 'finish' && !a.ok) {
        // A compensation that keeps failing needs a human: the saga stops here, marked failed.
        const events: NewEvent[] = [
          { type: 'CompensationFailed', data: { step: step.name, index, attempt: a.entry.attempt, error: a.error } },
          { type: 'SagaFailed', data: {} },
        ];
        const notices: StepNotice[] = [
          { index, name: step.name, phase: 'compensation', status: 'failed', attempt: a.entry.attempt, error: a.error },
        ];
        const ms = await persist(
          {
            status: 'failed',
            currentStep: then.currentStep,
            log: [a.entry],
            error: `compensating ${step.name}: ${a.error}`,
            finished: true,
          },
          events,
          'failed',
          notices,
        );
        report(step, 'compensation', a, ms);
      }
    }
    return 'finished';
  } catch (err) {
    if (err instanceof LeaseLostError) return 'lease_lost';
    throw err;
  } finally {
    lease.release();
  }
}

/**
 * Tries a step's action (or compensation) up to its policy's attempts, each inside a span and under a
 * timeout. Failed attempts that will be retried are persisted to the step log first.
 */
async function attempts(
  deps: RunnerDeps,
  def: SagaDefinition<unknown>,
  row: SagaRow,
  state: State,
  step: SagaStep<unknown>,
  index: number,
  phase: Phase,
  lease: Lease,
  persist: (p: Omit<Progress, 'version'>, events: NewEvent[], notify?: undefined, steps?: StepNotice[]) => Promise<number>,
): Promise<{ attempt: Attempt; then: SagaAfter }> {
  const policy: RetryPolicy =
    phase === 'action' ? retryPolicy(DEFAULT_ACTION_RETRY, step.retry) : retryPolicy(DEFAULT_COMPENSATION_RETRY, step.compensationRetry);
  const timeoutMs = step.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const run = phase === 'action' ? step.action : step.compensate!;
  for (let attempt = 1; ; attempt++) {
    if (lease.lost()) throw new LeaseLostError(`lost the lease of saga ${row.id}`);
    const t0 = performance.now();
    const at = deps.clock().toISOString();
    const entry = (outcome: StepLogEntry['outcome'], ms: number, error?: string): StepLogEntry => ({
      step: step.name,
      index,
      phase,
      outcome,
      attempt,
      at,
      ms: Math.round(ms),
      owner: deps.owner,
      ...(error !== undefined ? { error } : {}),
    });
    const attributes = {
      'saga.id': row.id,
      'saga.type': def.type,
      'saga.step': step.name,
      'saga.step.index': index,
      'saga.phase': phase,
      'saga.attempt': attempt,
    };
    try {
      const value = await withSpan(`saga.${phase} ${def.type}.${step.name}`, { attributes }, () =>
        withTimeout(timeoutMs, lease.signal, (signal) =>
          run({
            sagaId: row.id,
            sagaType: def.type,
            startedBy: row.startedBy,
            payload: row.payload,
            outputs: state.outputs,
            idempotencyKey: stepKey(row.id, index, step.name, phase),
            attempt,
            signal,
          }),
        ),
      );
      const ms = performance.now() - t0;
      const then = nextSagaStep(def, state, { phase, index, ok: true });
      return { attempt: { ok: true, value: value === undefined ? null : value, entry: entry('succeeded', ms), ms }, then };
    } catch (err) {
      const ms = performance.now() - t0;
      if (lease.lost()) throw new LeaseLostError(`lost the lease of saga ${row.id}`);
      const error = message(err);
      const then = nextSagaStep(def, state, {
        phase,
        index,
        ok: false,
        attempt,
        maxAttempts: policy.maxAttempts,
        permanent: err instanceof PermanentStepError,
      });
      if (then.kind !== 'retry') return { attempt: { ok: false, error, entry: entry('gave_up', ms, error), ms }, then };
      deps.log.warn({ sagaId: row.id, step: step.name, phase, attempt, err: error }, 'saga step attempt failed; retrying');
      await persist(
        { status: state.status, currentStep: state.currentStep, log: [entry('failed', ms, error)] },
        [{ type: 'StepAttemptFailed', data: { step: step.name, index, phase, attempt, error } }],
        undefined,
        [{ index, name: step.name, phase, status: 'retrying', attempt, error }],
      );
      await sleep(backoffDelay(policy, attempt));
    }
  }
}

export class StepTimeoutError extends Error {
  override name = 'StepTimeoutError';
}

/** Runs `fn` with a signal that aborts after `ms` or when `outer` aborts; rejects at the timeout. */
async function withTimeout<T>(ms: number, outer: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer.reason);
  outer.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new StepTimeoutError(`timed out after ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', onOuter);
  }
}
