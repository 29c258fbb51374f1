import { describe, expect, it } from 'vitest';
import { ageSeconds, cachedReading } from './metrics.js';

describe('cachedReading', () => {
  it('reads at most once per ttl, and concurrent callers share one read', async () => {
    let t = 0;
    let reads = 0;
    const read = cachedReading(async () => ++reads, { ttlMs: 5_000, timeoutMs: 1_000, now: () => t });
    expect(await Promise.all([read(), read()])).toEqual([1, 1]);
    t = 4_999;
    expect(await read()).toBe(1);
    t = 5_000;
    expect(await read()).toBe(2);
    expect(reads).toBe(2);
  });

  it('gives up a read past the timeout and reports nothing rather than a stale value', async () => {
    let t = 0;
    let slow = false;
    const read = cachedReading(async () => (slow ? new Promise<number>(() => undefined) : 7), { ttlMs: 10, timeoutMs: 50, now: () => t });
    expect(await read()).toBe(7);
    slow = true;
    t = 10;
    const started = Date.now();
    expect(await read()).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('reports nothing for a failed read, and reads again after the ttl', async () => {
    let t = 0;
    let fail = true;
    const read = cachedReading(
      async () => {
        if (fail) throw new Error('store down');
        return 'ok';
      },
      { ttlMs: 100, timeoutMs: 1_000, now: () => t },
    );
    expect(await read()).toBeUndefined();
    fail = false;
    expect(await read()).toBeUndefined(); // still inside the ttl: no hammering of a store that is down
    t = 100;
    expect(await read()).toBe('ok');
  });
});

describe('ageSeconds', () => {
  it('is the age of the oldest entry in seconds, 0 without one, never negative under clock skew', () => {
    expect(ageSeconds(new Date(1_000), 31_000)).toBe(30);
    expect(ageSeconds(1_000, 1_500)).toBe(0.5);
    expect(ageSeconds(null, 31_000)).toBe(0);
    expect(ageSeconds(undefined, 31_000)).toBe(0);
    expect(ageSeconds(40_000, 31_000)).toBe(0);
  });
});
