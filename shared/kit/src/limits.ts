import { z } from 'zod';

/**
 * Limits against abuse (ARCHITECTURE "Requests have limits"): body size, tRPC batch size and a
 * per-principal rate. Kept apart from `baseEnv` so it can be merged there with one spread
 * (`z.object({ ...base, ...limitsEnv.shape })`); every variable has a default, so merging changes
 * no deployment that does not set them.
 */
export const limitsEnv = z.object({
  /** Largest request body on /trpc and /api, in bytes; larger ones get 413 without being read. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1_024).max(1_073_741_824).default(1_048_576),
  /** Most calls in one tRPC batch (`?batch=1`); a longer batch gets 400 before any procedure runs. */
  MAX_BATCH_CALLS: z.coerce.number().int().min(1).max(1_000).default(20),
  /**
   * Deepest nesting of objects and arrays in a request's JSON input (body or `?input=`); deeper gets
   * 400 before parsing. No input of ours needs more than a handful of levels, while a few kilobytes
   * of `[[[[…` can cost recursive validators and JSONB columns their stack.
   */
  MAX_JSON_DEPTH: z.coerce.number().int().min(2).max(1_000).default(64),
  /** `false` turns per-principal rate limiting off entirely (e.g. behind a gateway that limits). */
  RATE_LIMIT_ENABLED: z.stringbool().default(true),
  /** Calls a user or agent may make per window, per process (also the burst it may spend at once). */
  RATE_LIMIT_REQUESTS: z.coerce.number().int().min(1).max(1_000_000).default(3_000),
  /** Calls an anonymous caller may make per window, per remote address, per process. */
  RATE_LIMIT_ANONYMOUS_REQUESTS: z.coerce.number().int().min(1).max(1_000_000).default(600),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
});
export type LimitsEnv = z.infer<typeof limitsEnv>;

export interface RateLimitSettings {
  enabled: boolean;
  /** Bucket size and refill per window for a principal (`kind:id`); services are never limited. */
  requests: number;
  /** The same for anonymous callers, keyed by remote address. */
  anonymousRequests: number;
  windowMs: number;
}

export interface LimitSettings {
  maxBodyBytes: number;
  maxBatchCalls: number;
  /** Deepest JSON nesting a request's input may have (MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  rateLimit: RateLimitSettings;
}

/** The settings a service passes to `startServiceServer({ limits })`, from its parsed environment. */
export function limitSettings(env: LimitsEnv): LimitSettings {
  return {
    maxBodyBytes: env.MAX_BODY_BYTES,
    maxBatchCalls: env.MAX_BATCH_CALLS,
    maxJsonDepth: env.MAX_JSON_DEPTH,
    rateLimit: {
      enabled: env.RATE_LIMIT_ENABLED,
      requests: env.RATE_LIMIT_REQUESTS,
      anonymousRequests: env.RATE_LIMIT_ANONYMOUS_REQUESTS,
      windowMs: env.RATE_LIMIT_WINDOW_SECONDS * 1_000,
    },
  };
}

/** The defaults of `limitsEnv`: what a server gets when its caller passes no limits. */
export const DEFAULT_LIMITS: LimitSettings = limitSettings(limitsEnv.parse({}));

/** Fills what `partial` leaves out from the defaults (tests set one limit, services set all). */
export function resolveLimits(
  partial: { maxBodyBytes?: number; maxBatchCalls?: number; maxJsonDepth?: number; rateLimit?: Partial<RateLimitSettings> } = {},
): LimitSettings {
  return {
    maxBodyBytes: partial.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes,
    maxBatchCalls: partial.maxBatchCalls ?? DEFAULT_LIMITS.maxBatchCalls,
    maxJsonDepth: partial.maxJsonDepth ?? DEFAULT_LIMITS.maxJsonDepth,
    rateLimit: {
      enabled: partial.rateLimit?.enabled ?? DEFAULT_LIMITS.rateLimit.enabled,
      requests: partial.rateLimit?.requests ?? DEFAULT_LIMITS.rateLimit.requests,
      anonymousRequests: partial.rateLimit?.anonymousRequests ?? DEFAULT_LIMITS.rateLimit.anonymousRequests,
      windowMs: partial.rateLimit?.windowMs ?? DEFAULT_LIMITS.rateLimit.windowMs,
    },
  };
}
