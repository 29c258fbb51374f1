import type pg from 'pg';
import { z } from 'zod';
import { defineSaga, PermanentStepError, type StepContext } from '../../src/domain/sagas/definition.js';

/**
 * A 3-step test saga whose steps leave visible effects: one row per (step, phase) keyed by the step's
 * idempotency key, with a counter of how often the action ran. "Exactly once" is then checkable:
 * one row per step however often a crash made it run, and `attempts` shows the re-runs.
 */
export const EFFECTS_DDL = `CREATE TABLE IF NOT EXISTS saga_effects (
  key text PRIMARY KEY, saga_id uuid NOT NULL, step text NOT NULL, phase text NOT NULL,
  attempts int NOT NULL DEFAULT 1, at timestamptz NOT NULL DEFAULT clock_timestamp())`;

export const STEPS = ['reserve', 'charge', 'ship'] as const;

export const EffectsPayload = z.object({
  /** Index of the step whose action fails for good (its effect is not recorded: a failed step is atomic). */
  failAt: z.number().int().min(0).max(2).optional(),
  /** Index of the step whose first attempt hangs past its timeout. */
  hangOnceAt: z.number().int().min(0).max(2).optional(),
  /** How long each action and compensation takes after recording its effect (a window to kill the process in). */
  stepMs: z.number().int().min(0).max(60_000).default(0),
});
type Payload = z.infer<typeof EffectsPayload>;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

async function record(pool: pg.Pool, ctx: StepContext<Payload>, step: string, phase: string): Promise<void> {
  await pool.query(
    `INSERT INTO saga_effects (key, saga_id, step, phase) VALUES ($1, $2, $3, $4)
     ON CONFLICT (key) DO UPDATE SET attempts = saga_effects.attempts + 1`,
    [ctx.idempotencyKey, ctx.sagaId, step, phase],
  );
}

export function effectsSaga(pool: pg.Pool, opts: { type?: string; timeoutMs?: number } = {}) {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  return defineSaga<Payload>({
    type: opts.type ?? 'effects',
    payload: EffectsPayload,
    steps: STEPS.map((name, index) => ({
      name,
      timeoutMs,
      retry: { maxAttempts: 3, backoffMs: 20, maxBackoffMs: 100 },
      compensationRetry: { maxAttempts: 3, backoffMs: 20, maxBackoffMs: 100 },
      action: async (ctx: StepContext<Payload>) => {
        if (ctx.payload.failAt === index) throw new PermanentStepError(`${name} declined`);
        if (ctx.payload.hangOnceAt === index && ctx.attempt === 1) {
          await sleep(timeoutMs * 3, ctx.signal);
          throw new Error('hung attempt woke up');
        }
        await record(pool, ctx, name, 'action');
        await sleep(ctx.payload.stepMs);
        return { step: name, attempt: ctx.attempt };
      },
      compensate: async (ctx: StepContext<Payload>) => {
        await record(pool, ctx, name, 'compensation');
        await sleep(ctx.payload.stepMs);
      },
    })),
  });
}

export interface LogEntry {
  step: string;
  phase: 'action' | 'compensation';
  outcome: 'succeeded' | 'failed' | 'gave_up';
  attempt: number;
  owner: string;
  error?: string;
}

/** (phase, step) pairs that succeeded, in log order. */
export const succeeded = (log: LogEntry[]) => log.filter((e) => e.outcome === 'succeeded').map((e) => `${e.phase}:${e.step}`);
