import { baseEnv, loadConfig } from '@platform/kit';
import { z } from 'zod';
import { DEFAULT_JOBS_MAX_BYTES } from './events/streams.js';

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const coordinationEnv = baseEnv
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(4103),
    /** How long jobs.claim waits for work before answering "nothing" (long poll). */
    CLAIM_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(5_000),
    /** How often a waiting claim looks again without a notification (a safety net for lost hints). */
    CLAIM_RESWEEP_MS: ms(5_000),
    OUTBOX_SWEEP_MS: ms(2_000),
    /** Outbox markers younger than this are left to the writer that is flushing them. */
    OUTBOX_MIN_AGE_MS: ms(5_000),
    /** The heartbeat interval agents are told to keep; stale after two missed. */
    HEARTBEAT_INTERVAL_MS: ms(5_000),
    /** The liveness TTL: no heartbeat for this long and the agent is offline and its jobs requeued. */
    AGENT_OFFLINE_AFTER_MS: ms(30_000),
    /** After a stuck report, how long the agent keeps its job before it is released. */
    STUCK_GRACE_MS: ms(60_000),
    LIVENESS_SWEEP_MS: ms(1_000),
    SCHEDULER_TICK_MS: ms(1_000),
    /** Lifetime of the agent tokens enrolment issues; agents refresh them before they expire. */
    AGENT_TOKEN_TTL_S: z.coerce
      .number()
      .int()
      .min(60)
      .max(24 * 3600)
      .default(900),
    /** Operations, asked (as the caller) whether a job may target a task. */
    OPERATIONS_URL: z.url().default('http://127.0.0.1:4102'),
    OPERATIONS_TIMEOUT_MS: ms(3_000),
    /** Most bytes of queued work items (JOBS stream; no age limit). When full, new work items are refused and retried, never dropped (0 = no limit). */
    JOBS_STREAM_MAX_BYTES: z.coerce.number().int().min(0).default(DEFAULT_JOBS_MAX_BYTES),
  })
  .refine((e) => e.AGENT_OFFLINE_AFTER_MS > 2 * e.HEARTBEAT_INTERVAL_MS, {
    message: 'must be more than two heartbeat intervals (an agent is stale before it is offline)',
    path: ['AGENT_OFFLINE_AFTER_MS'],
  });
export type CoordinationConfig = z.infer<typeof coordinationEnv>;

export const loadCoordinationConfig = (env: NodeJS.ProcessEnv = process.env): CoordinationConfig => loadConfig(coordinationEnv, env);
