import { z } from 'zod';
import { authEnv } from './auth-config.js';
import { corsEnv, corsSettings } from './cors.js';
import { limitsEnv, limitSettings } from './limits.js';
import { replicasEnv } from './replicas.js';
import { retentionEnv } from './retention.js';
import { subscriptionSettings, subscriptionsEnv } from './subscriptions.js';

/** Raised at start when the environment does not satisfy the service's schema; names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables every service reads: where it listens, how it logs, how it verifies tokens, where NATS is. */
export const baseEnv = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...authEnv.shape,
  ...limitsEnv.shape,
  ...corsEnv.shape,
  ...retentionEnv.shape,
  ...replicasEnv.shape,
  ...subscriptionsEnv.shape,
  NATS_URL: z.string().min(1),
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  READINESS_TIMEOUT_MS: z.coerce.number().int().positive().default(1_500),
});
export type BaseEnv = z.infer<typeof baseEnv>;

/** Parses `env` once at start. The only place a service reads process.env. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(root)';
      const value = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
      return `${name}: ${value === undefined ? 'missing' : 'invalid'} (${issue.message})`;
    }),
  );
}

/** What startServiceServer takes from the environment, read the same way by every service. */
export function serverSettings(env: BaseEnv) {
  return {
    host: env.HOST,
    port: env.PORT,
    readinessTimeoutMs: env.READINESS_TIMEOUT_MS,
    limits: limitSettings(env),
    subscriptions: subscriptionSettings(env),
    cors: corsSettings(env),
  };
}
