import type { z } from 'zod';

/** How often a step is tried and how long to wait between tries (exponential, capped). */
export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_ACTION_RETRY: RetryPolicy = { maxAttempts: 3, backoffMs: 200, maxBackoffMs: 5_000 };
/** Compensations must get through: more patience by default. */
export const DEFAULT_COMPENSATION_RETRY: RetryPolicy = { maxAttempts: 6, backoffMs: 500, maxBackoffMs: 10_000 };
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

export interface StepContext<P> {
  sagaId: string;
  sagaType: string;
  /** Principal that started the saga: steps act on their behalf (never as the system). */
  startedBy: string;
  payload: P;
  /** Results of the steps completed so far, by step name. */
  outputs: Readonly<Record<string, unknown>>;
  /**
   * Stable across retries and across a crash and resume: `<sagaId>:<step index>:<step name>:<phase>`.
   * An action re-run after a crash must use it to make its effect happen once (e.g. as the id of the
   * row it creates, or an Idempotency-Key header).
   */
  idempotencyKey: string;
  attempt: number;
  /** Aborted on timeout or when this replica loses the saga's lease. */
  signal: AbortSignal;
}

export interface SagaStep<P> {
  name: string;
  /** Its result (JSON) is stored under the step's name in the saga's outputs. */
  action: (ctx: StepContext<P>) => Promise<unknown>;
  /** Undoes the action; steps without one need no undoing. */
  compensate?: (ctx: StepContext<P>) => Promise<void>;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  compensationRetry?: Partial<RetryPolicy>;
}

export interface SagaDefinition<P> {
  type: string;
  /** Validates sagas.start's payload (BAD_REQUEST with the zod issues otherwise). */
  payload: z.ZodType<P>;
  steps: ReadonlyArray<SagaStep<P>>;
}

/** Thrown by an action that will not succeed however often it is retried: compensation starts now. */
export class PermanentStepError extends Error {
  override name = 'PermanentStepError';
}

/**
 * Checks a definition and erases its payload type for the registry: the orchestrator only ever hands
 * a saga's steps the payload that this definition's schema produced at sagas.start.
 */
export function defineSaga<P>(d: SagaDefinition<P>): SagaDefinition<unknown> {
  if (!/^[a-z][a-z0-9_]{0,99}$/.test(d.type)) throw new Error(`saga type "${d.type}" must be snake_case`);
  if (d.steps.length === 0) throw new Error(`saga ${d.type} has no steps`);
  const names = d.steps.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error(`saga ${d.type} has duplicate step names`);
  return d as unknown as SagaDefinition<unknown>;
}

/** The saga types a process can start and run. A replica only claims sagas whose type it knows. */
export class SagaRegistry {
  private readonly byType = new Map<string, SagaDefinition<unknown>>();

  constructor(definitions: ReadonlyArray<SagaDefinition<unknown>>) {
    for (const d of definitions) {
      if (this.byType.has(d.type)) throw new Error(`saga type ${d.type} registered twice`);
      this.byType.set(d.type, d);
    }
  }

  get(type: string): SagaDefinition<unknown> | undefined {
    return this.byType.get(type);
  }

  get types(): string[] {
    return [...this.byType.keys()];
  }
}

export function retryPolicy(base: RetryPolicy, override: Partial<RetryPolicy> | undefined): RetryPolicy {
  return { ...base, ...override };
}

/** Delay before attempt `attempt + 1`: backoff · 2^(attempt-1), capped, with ±20 % jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const raw = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}
