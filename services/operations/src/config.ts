import { baseEnv, loadConfig } from '@platform/kit';
import { z } from 'zod';

export const operationsEnv = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(4102),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL'),
  KNOWLEDGE_URL: z.url(),
  KNOWLEDGE_TIMEOUT_MS: z.coerce.number().int().positive().default(3_000),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(500),
});
export type OperationsConfig = z.infer<typeof operationsEnv>;

export const loadOperationsConfig = (env: NodeJS.ProcessEnv = process.env): OperationsConfig => loadConfig(operationsEnv, env);
