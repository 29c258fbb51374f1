import { hostname } from 'node:os';
import { baseEnv, loadConfig } from '@platform/kit';
import { z } from 'zod';

export const operationsEnv = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4102),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(200).default(20),
  KNOWLEDGE_URL: z.url(),
  KNOWLEDGE_TIMEOUT_MS: z.coerce.number().int().positive().default(3_000),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(500),
  /** Sent outbox rows are deleted this long after they were sent (0 = kept forever); unsent rows never. */
  OUTBOX_SENT_RETENTION_S: z.coerce
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3600),
  /** Processed-event markers are deleted after this, but never before the consumed stream's max age (0 = kept forever). */
  PROCESSED_EVENTS_RETENTION_S: z.coerce
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3600),
  /** How often the retention pass runs, and how many rows one DELETE takes. */
  RETENTION_PRUNE_INTERVAL_S: z.coerce.number().int().min(1).max(86_400).default(300),
  RETENTION_PRUNE_BATCH: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /** This replica's name as saga lease owner: unique per process (a restarted pod is a new owner). */
  INSTANCE_ID: z.string().min(1).max(200).default(`${hostname()}-${process.pid}`),
  /** A saga whose owner stops renewing (crash, SIGKILL) is resumed by another replica after this. */
  SAGA_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(15_000),
  SAGA_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  SAGA_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(32),
});
export type OperationsConfig = z.infer<typeof operationsEnv>;

export const loadOperationsConfig = (env: NodeJS.ProcessEnv = process.env): OperationsConfig => loadConfig(operationsEnv, env);
