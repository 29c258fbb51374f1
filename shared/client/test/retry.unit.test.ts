import { describe, expect, it } from 'vitest';
import { backoffMs, DEFAULT_RETRY, parseRetryAfter, retryPolicy } from '../src/retry.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0); // in the past: retry now
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('doubles per attempt up to the cap, with half of it jittered', () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, p, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, p, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
  });
});

describe('retryPolicy', () => {
  it('takes a count or a partial policy over the defaults', () => {
    expect(retryPolicy(undefined)).toEqual(DEFAULT_RETRY);
    expect(retryPolicy(0).retries).toBe(0);
    expect(retryPolicy({ baseDelayMs: 5 })).toEqual({ ...DEFAULT_RETRY, baseDelayMs: 5 });
  });
  it('refuses negative or non-finite values', () => {
    expect(() => retryPolicy(-1)).toThrow(RangeError);
    expect(() => retryPolicy({ maxDelayMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});
