import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { declaredLength, jsonNestsDeeperThan, readBodyWithin, trpcCallCount } from './body-limit.js';
import { DEFAULT_LIMITS, limitSettings, limitsEnv, resolveLimits } from './limits.js';

// Rule: a body is read only while it stays within the limit; at the first byte past it reading
// stops (the rest is never pulled from the stream).

describe('readBodyWithin', () => {
  it('returns the whole body when it is exactly the limit', async () => {
    const read = await readBodyWithin(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4);
    expect(read).toEqual({ kind: 'ok', body: Buffer.from('abcd') });
  });

  it('stops at the first chunk past the limit and leaves the rest unread', async () => {
    let pulled = 0;
    const total = 1_000;
    // An explicit high-water mark: Node 22+ defaults to 64 KiB (20 had 16 KiB), which would let 64 chunks be read ahead.
    const source = new Readable({
      highWaterMark: 16 * 1_024,
      read() {
        if (pulled >= total) return this.push(null);
        pulled += 1;
        this.push(Buffer.alloc(1_024));
      },
    });
    const read = await readBodyWithin(source, 4_000);
    expect(read).toEqual({ kind: 'too-large', received: 4_096 });
    await new Promise((r) => setTimeout(r, 20));
    // Paused: only what the stream buffered ahead (its high-water mark) was produced, not 1 000 chunks.
    expect(pulled).toBeLessThan(40);
    expect(source.isPaused()).toBe(true);
  });

  it('says aborted when the stream closes before it ends', async () => {
    const source = new PassThrough();
    const pending = readBodyWithin(source, 100);
    source.write('abc');
    source.destroy();
    await expect(pending).resolves.toEqual({ kind: 'aborted' });
  });
});

describe('declaredLength', () => {
  it('reads a plain Content-Length and ignores anything else', () => {
    expect(declaredLength({ headers: { 'content-length': '62914560' } })).toBe(62_914_560);
    expect(declaredLength({ headers: {} })).toBeUndefined();
    expect(declaredLength({ headers: { 'content-length': '12, 12' } })).toBeUndefined();
  });
});

describe('trpcCallCount', () => {
  it('counts the procedures of a batch and one for anything else', () => {
    expect(trpcCallCount('/trpc/a.b,c.d,e.f?batch=1&input=%7B%7D')).toBe(3);
    expect(trpcCallCount('/trpc/a.b?batch=1')).toBe(1);
    expect(trpcCallCount('/trpc/a.b,c.d')).toBe(1);
    expect(trpcCallCount('/trpc/a.b?input=%7B%7D')).toBe(1);
  });
});

describe('jsonNestsDeeperThan', () => {
  const nest = (n: number) => `${'{"a":['.repeat(n)}1${']}'.repeat(n)}`; // 2n levels

  it('counts objects and arrays alike and allows exactly the maximum', () => {
    expect(jsonNestsDeeperThan(nest(32), 64)).toBe(false);
    expect(jsonNestsDeeperThan(`[${nest(32)}]`, 64)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":1,"b":[1,2,{"c":3}]}', 3)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":1,"b":[1,2,{"c":3}]}', 2)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan(JSON.stringify({ text: '[[[[{{{{' }), 1)).toBe(false);
    expect(jsonNestsDeeperThan(JSON.stringify({ text: 'say \\"[[[[\\" and \\\\' }), 1)).toBe(false);
    expect(jsonNestsDeeperThan(JSON.stringify({ text: 'a\\\\', deep: [[1]] }), 2)).toBe(true);
  });

  it('siblings do not add up: depth is the deepest path, not the number of containers', () => {
    expect(jsonNestsDeeperThan(JSON.stringify(Array.from({ length: 1_000 }, () => ({ a: [1] }))), 3)).toBe(false);
  });
});

describe('limitsEnv', () => {
  it('defaults: 1 MiB bodies, 20-call batches, 3000 calls/min per principal, 600 per address, on', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxBodyBytes: 1_048_576,
      maxBatchCalls: 20,
      maxJsonDepth: 64,
      rateLimit: { enabled: true, requests: 3_000, anonymousRequests: 600, windowMs: 60_000 },
    });
  });

  it('reads the variables and switches rate limiting off with false', () => {
    const env = limitsEnv.parse({
      MAX_BODY_BYTES: '2048',
      MAX_BATCH_CALLS: '5',
      RATE_LIMIT_ENABLED: 'false',
      RATE_LIMIT_REQUESTS: '10',
      RATE_LIMIT_WINDOW_SECONDS: '1',
    });
    expect(limitSettings(env)).toMatchObject({
      maxBodyBytes: 2_048,
      maxBatchCalls: 5,
      rateLimit: { enabled: false, requests: 10, windowMs: 1_000 },
    });
    expect(limitsEnv.safeParse({ MAX_BODY_BYTES: '0' }).success).toBe(false);
    expect(limitsEnv.safeParse({ RATE_LIMIT_ENABLED: 'maybe' }).success).toBe(false);
  });

  it('fills what a caller leaves out from the defaults', () => {
    expect(resolveLimits({ rateLimit: { requests: 5 } })).toEqual({
      ...DEFAULT_LIMITS,
      rateLimit: { ...DEFAULT_LIMITS.rateLimit, requests: 5 },
    });
  });
});
