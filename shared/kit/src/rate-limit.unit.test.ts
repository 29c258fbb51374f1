import { describe, expect, it } from 'vitest';
import { createRateLimiter, rateLimitKey, TokenBuckets } from './rate-limit.js';

// Rule: each principal (kind + id) has a bucket of `requests` calls refilled over the window;
// past it a call is refused with a Retry-After in whole seconds; services are never limited;
// anonymous callers are counted per remote address against their own, smaller limit.

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('TokenBuckets', () => {
  it('allows a burst up to the capacity, then refuses with the wait until one token is back', () => {
    const c = clock();
    const b = new TokenBuckets(3, 60_000, c.now);
    expect([b.take('k'), b.take('k'), b.take('k')].every((d) => d.allowed)).toBe(true);
    const refused = b.take('k');
    // 3 per 60 s = one token per 20 s.
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 20, limit: 3, windowMs: 60_000 });
    c.advance(19_999);
    expect(b.take('k').allowed).toBe(false);
    c.advance(1);
    expect(b.take('k').allowed).toBe(true);
    expect(b.take('k').allowed).toBe(false);
  });

  it('refills continuously but never beyond the capacity', () => {
    const c = clock();
    const b = new TokenBuckets(2, 1_000, c.now);
    b.take('k');
    b.take('k');
    c.advance(10_000);
    expect(b.take('k').allowed).toBe(true);
    expect(b.take('k').allowed).toBe(true);
    expect(b.take('k').allowed).toBe(false);
  });

  it('charges a cost (a batch) at once and refuses it whole when the bucket cannot pay', () => {
    const c = clock();
    const b = new TokenBuckets(10, 10_000, c.now);
    expect(b.take('k', 7).allowed).toBe(true);
    const refused = b.take('k', 5);
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 2 });
    // The refused call took nothing: three are still there.
    expect(b.take('k', 3).allowed).toBe(true);
  });

  it('rounds a sub-second wait up to 1 s (Retry-After is whole seconds, never 0)', () => {
    const c = clock();
    const b = new TokenBuckets(1_000, 1_000, c.now);
    b.take('k', 1_000);
    expect(b.take('k')).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
  });

  it('keys are independent and memory is bounded (least recently used dropped)', () => {
    const c = clock();
    const b = new TokenBuckets(1, 60_000, c.now, 2);
    b.take('a');
    b.take('b');
    expect(b.take('b').allowed).toBe(false);
    b.take('c');
    expect(b.size).toBe(2);
    // 'a' was least recently used and was dropped: it starts full again.
    expect(b.take('a').allowed).toBe(true);
  });
});

describe('createRateLimiter', () => {
  const settings = { enabled: true, requests: 2, anonymousRequests: 1, windowMs: 60_000 };

  it('never limits a service principal', () => {
    const limiter = createRateLimiter(settings, clock().now);
    for (let i = 0; i < 100; i++) expect(limiter.check({ kind: 'service', id: 'operations' }, '10.0.0.1').allowed).toBe(true);
  });

  it('counts users and agents by kind and id, anonymous callers by address', () => {
    const limiter = createRateLimiter(settings, clock().now);
    expect(limiter.check({ kind: 'user', id: 'alice' }, '10.0.0.1').allowed).toBe(true);
    expect(limiter.check({ kind: 'user', id: 'alice' }, '10.0.0.2').allowed).toBe(true);
    expect(limiter.check({ kind: 'user', id: 'alice' }, '10.0.0.3').allowed).toBe(false);
    expect(limiter.check({ kind: 'agent', id: 'alice' }, '10.0.0.1').allowed).toBe(true);
    expect(limiter.check(null, '10.0.0.1').allowed).toBe(true);
    expect(limiter.check(null, '10.0.0.1').allowed).toBe(false);
    expect(limiter.check(null, '10.0.0.2').allowed).toBe(true);
  });

  it('lets everything through when switched off', () => {
    const limiter = createRateLimiter({ ...settings, enabled: false }, clock().now);
    for (let i = 0; i < 100; i++) expect(limiter.check({ kind: 'user', id: 'alice' }, '10.0.0.1').allowed).toBe(true);
  });

  it('keys: service → none; principal → kind:id; anonymous → address', () => {
    expect(rateLimitKey({ kind: 'service', id: 'x' }, '1.2.3.4')).toBeNull();
    expect(rateLimitKey({ kind: 'agent', id: 'a1' }, '1.2.3.4')).toEqual({ key: 'agent:a1', anonymous: false });
    expect(rateLimitKey(null, '1.2.3.4')).toEqual({ key: 'address:1.2.3.4', anonymous: true });
  });
});
