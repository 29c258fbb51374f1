import type { Principal } from '@platform/contracts';
import type { RateLimitSettings } from './limits.js';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number; limit: number; windowMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets in this process's memory, one per key: a bucket holds up to `capacity` tokens and
 * refills `capacity` per `windowMs`, continuously, so a caller may burst up to the limit and then
 * go on at the window's average rate. State is per process and lost on restart: with N replicas a
 * principal gets up to N times the limit, which is fine for abuse control (not for billing).
 * Memory is bounded: past `maxKeys` the least recently used bucket is dropped (that caller starts
 * full again, the only effect).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxKeys = 100_000,
  ) {
    if (!(capacity >= 1) || !(windowMs > 0)) throw new Error('capacity must be ≥ 1 and windowMs > 0');
    this.perMs = capacity / windowMs;
  }

  /** Takes `cost` tokens from `key`'s bucket, or says how long until there are enough. */
  take(key: string, cost = 1): RateDecision {
    const now = this.now();
    // A cost above the bucket could never be paid: charge a full bucket instead of refusing forever.
    const charge = Math.min(Math.max(cost, 1), this.capacity);
    const previous = this.buckets.get(key);
    const tokens = previous ? Math.min(this.capacity, previous.tokens + (now - previous.at) * this.perMs) : this.capacity;
    // Delete and set again so Map order is recency order (the first key is the least recently used).
    this.buckets.delete(key);
    if (tokens >= charge) {
      this.buckets.set(key, { tokens: tokens - charge, at: now });
      this.evict();
      return { allowed: true };
    }
    this.buckets.set(key, { tokens, at: now });
    this.evict();
    const waitMs = (charge - tokens) / this.perMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1_000)), limit: this.capacity, windowMs: this.windowMs };
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) return;
      this.buckets.delete(oldest.value);
    }
  }
}

/** Who a call is counted against: null for services (never limited), else a key and which limit applies. */
export function rateLimitKey(
  principal: Pick<Principal, 'kind' | 'id'> | null,
  remoteAddress: string | undefined,
): { key: string; anonymous: boolean } | null {
  if (principal?.kind === 'service') return null;
  if (principal) return { key: `${principal.kind}:${principal.id}`, anonymous: false };
  // Behind a proxy every anonymous caller shares the proxy's address: that is the safe side (no
  // header a caller can forge decides its bucket).
  return { key: `address:${remoteAddress ?? 'unknown'}`, anonymous: true };
}

export interface RateLimiter {
  /** Counts `cost` calls (a tRPC batch costs its number of calls) for this caller. */
  check(principal: Pick<Principal, 'kind' | 'id'> | null, remoteAddress: string | undefined, cost?: number): RateDecision;
}

export function createRateLimiter(settings: RateLimitSettings, now?: () => number): RateLimiter {
  if (!settings.enabled) return { check: () => ({ allowed: true }) };
  const principals = new TokenBuckets(settings.requests, settings.windowMs, now);
  const anonymous = new TokenBuckets(settings.anonymousRequests, settings.windowMs, now);
  return {
    check(principal, remoteAddress, cost = 1) {
      const who = rateLimitKey(principal, remoteAddress);
      if (!who) return { allowed: true };
      return (who.anonymous ? anonymous : principals).take(who.key, cost);
    },
  };
}
