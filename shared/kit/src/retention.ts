import { DiscardPolicy, nanos, type StreamConfig } from 'nats';
import { z } from 'zod';

/**
 * How much a stream keeps: the oldest messages go once either limit is passed. `0` means no limit
 * (JetStream's own "unlimited": max_age 0, max_bytes -1).
 */
export interface StreamLimits {
  maxAgeMs: number;
  maxBytes: number;
}

const DAY_S = 24 * 3600;
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/**
 * Event streams (`<SERVICE>_EVENTS`): 7 days covers a consumer (or a subscriber's durable) that is
 * down over a long weekend and still catches up from where it stopped, and 1 GiB is about a million
 * 1 KiB envelopes, far more than 7 days of this platform's traffic, so in normal running age is the
 * limit that applies and bytes is the guard against a burst filling the NATS volume. The bytes are
 * reserved against the server's JetStream storage (`max_file_store`): three event streams, the
 * dead-letter streams and the job queue ask for about 4.5 GiB with these defaults.
 */
export const DEFAULT_EVENT_STREAM_LIMITS: StreamLimits = { maxAgeMs: 7 * DAY_S * 1000, maxBytes: GIB };
/**
 * Dead-letter streams (`DEADLETTER`, `JOBS_DEADLETTER`): kept longer than events (30 days), because
 * a person reads them, not a program; they are small, so 256 MiB is plenty.
 */
export const DEFAULT_DEAD_LETTER_LIMITS: StreamLimits = { maxAgeMs: 30 * DAY_S * 1000, maxBytes: 256 * MIB };

/**
 * The shortest age limit accepted: longer than the 2-minute duplicate window every stream keeps
 * (the server refuses a window longer than the max age), with room to spare.
 */
const MIN_MAX_AGE_S = 600;

const maxAgeSeconds = (fallbackS: number) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .refine((s) => s === 0 || s >= MIN_MAX_AGE_S, { message: `0 (no age limit) or at least ${MIN_MAX_AGE_S} seconds` })
    .default(fallbackS);
const maxBytes = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/**
 * Stream retention, read by every service (each owns an event stream and may own a dead-letter
 * stream). Merged into `baseEnv`; every variable has a default.
 */
export const retentionEnv = z.object({
  /** Oldest event kept in this service's event stream, in seconds (0 = no age limit). */
  EVENT_STREAM_MAX_AGE_S: maxAgeSeconds(DEFAULT_EVENT_STREAM_LIMITS.maxAgeMs / 1000),
  /** Most bytes this service's event stream keeps before dropping its oldest events (0 = no limit). */
  EVENT_STREAM_MAX_BYTES: maxBytes(DEFAULT_EVENT_STREAM_LIMITS.maxBytes),
  /** Oldest dead letter kept, in seconds (0 = no age limit). */
  DEAD_LETTER_MAX_AGE_S: maxAgeSeconds(DEFAULT_DEAD_LETTER_LIMITS.maxAgeMs / 1000),
  DEAD_LETTER_MAX_BYTES: maxBytes(DEFAULT_DEAD_LETTER_LIMITS.maxBytes),
});
export type RetentionEnv = z.infer<typeof retentionEnv>;

export const eventStreamLimits = (env: RetentionEnv): StreamLimits => ({
  maxAgeMs: env.EVENT_STREAM_MAX_AGE_S * 1000,
  maxBytes: env.EVENT_STREAM_MAX_BYTES,
});
export const deadLetterLimits = (env: RetentionEnv): StreamLimits => ({
  maxAgeMs: env.DEAD_LETTER_MAX_AGE_S * 1000,
  maxBytes: env.DEAD_LETTER_MAX_BYTES,
});

/**
 * The stream config fields for `limits`, for a limits-retention stream (events, dead letters):
 * past a limit the server discards the OLDEST messages, so a publisher is never refused and the
 * outboxes never back up; a consumer further behind than the limits loses what aged out.
 */
export function limitsRetention(limits: StreamLimits): Pick<StreamConfig, 'max_age' | 'max_bytes' | 'discard'> {
  return { max_age: nanos(limits.maxAgeMs), max_bytes: limits.maxBytes > 0 ? limits.maxBytes : -1, discard: DiscardPolicy.Old };
}
