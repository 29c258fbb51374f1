import { baseEnv, loadConfig } from '@platform/kit';
import { z } from 'zod';

export const coordinationEnv = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4103),
  /** How long jobs.claim waits for work before answering "nothing" (long poll). */
  CLAIM_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(5_000),
  OUTBOX_SWEEP_MS: z.coerce.number().int().positive().default(2_000),
});
export type CoordinationConfig = z.infer<typeof coordinationEnv>;

export const loadCoordinationConfig = (env: NodeJS.ProcessEnv = process.env): CoordinationConfig => loadConfig(coordinationEnv, env);
