import { retryLink, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';

export interface RetryOptions {
  /** Retries after the first attempt (0: none). Default 2. */
  retries?: number;
  /** First backoff; doubles per retry, with jitter. Default 100 ms. */
  baseDelayMs?: number;
  /** Largest backoff. Default 2 000 ms. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the call fails at once. Default 10 000 ms. */
  maxRetryAfterMs?: number;
}
export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = { retries: 2, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterMs: 10_000 };

export function retryPolicy(opt: number | RetryOptions | undefined): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...(typeof opt === 'number' ? { retries: opt } : opt) };
  for (const [k, v] of Object.entries(policy)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`retry option ${k} must be a finite number ≥ 0, got ${v}`);
  }
  return policy;
}

/**
 * A response with an error status that is not a tRPC error body (a proxy's or load balancer's
 * 502/503/504 page): the fetch wrapper throws it so its status and Retry-After survive, where
 * tRPC's link would only report that the body is not JSON.
 */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly retryAfter: string | null,
    body: string,
  ) {
    super(`HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** How fetch implementations word "no response" (undici: `fetch failed`; browsers: `Failed to fetch`, `NetworkError…`). */
const NETWORK_FAILURE = /fetch failed|failed to fetch|network/i;

/**
 * Whether a failed call may succeed if sent again, and how long the server asked to wait:
 * 429 and 502/503/504 (with their Retry-After), timeouts and network errors (connection refused
 * or reset). Not: a call the caller aborted, any other status (4xx is the caller's mistake, 500 a
 * server bug that a retry repeats).
 */
export function transientFailure(error: unknown): { retryAfterMs: number | undefined } | null {
  if (!(error instanceof TRPCClientError)) return null;
  const response = (error.meta as { response?: unknown } | undefined)?.response;
  const cause: unknown = error.cause;
  let status: number | undefined;
  let retryAfter: string | null = null;
  if (response instanceof Response) {
    status = response.status;
    retryAfter = response.headers.get('retry-after');
  } else if (cause instanceof HttpStatusError) {
    status = cause.status;
    retryAfter = cause.retryAfter;
  }
  if (status !== undefined) return RETRYABLE_STATUS.has(status) ? { retryAfterMs: parseRetryAfter(retryAfter) } : null;
  // No response at all: the request timed out, or never got one (undici reports a network failure as a TypeError).
  for (let c: unknown = cause, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    if (c.name === 'AbortError') return null;
    if (c.name === 'TimeoutError') return { retryAfterMs: undefined };
    if (c.name === 'TypeError' && NETWORK_FAILURE.test(c.message)) return { retryAfterMs: undefined };
  }
  return null;
}

/** Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its day and month; Date.parse would also take "-1" or "2" as a year.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with jitter (half fixed, half random), so callers that failed together do not retry together. */
export function backoffMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/**
 * tRPC's retryLink with the platform's policy: only queries are retried (a mutation may have
 * taken effect before the failure, and the procedures are not idempotent), only transient
 * failures, at most `retries` times, waiting the backoff or the server's Retry-After, whichever
 * is longer.
 */
export function platformRetryLink(policy: RetryPolicy): TRPCLink<AnyRouter> {
  // retryLink hands `retryDelayMs` only the attempt number, but the wait depends on the failure
  // (Retry-After). It calls retryDelayMs synchronously right after `retry` returned true for the
  // same failure (@trpc/client 11 retryLink), so the delay decided in `retry` is handed over here.
  let decidedDelayMs = 0;
  return retryLink<AnyRouter>({
    retry: ({ op, error, attempts }) => {
      if (op.type !== 'query' || attempts > policy.retries || op.signal?.aborted) return false;
      const failure = transientFailure(error);
      if (!failure) return false;
      if (failure.retryAfterMs !== undefined && failure.retryAfterMs > policy.maxRetryAfterMs) return false;
      decidedDelayMs = Math.max(backoffMs(attempts, policy), failure.retryAfterMs ?? 0);
      return true;
    },
    retryDelayMs: () => decidedDelayMs,
  });
}
