import { jobTypeDefinitions } from '@platform/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentKey } from '../store/agent-record.js';
import { idempotentJobId } from './idempotency.js';
import { orphaned, statusForAge } from './liveness.js';
import { parseJobParams } from './params.js';
import { retryDelayMs } from './retry-policy.js';

describe('retryDelayMs', () => {
  const policy = { maxAttempts: 5, backoffMs: 1_000, maxBackoffMs: 5_000 };
  it('doubles from the base after each failure and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 60].map((n) => retryDelayMs(policy, n))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
  });
  it('never exceeds the cap nor goes below the base for any failure count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (n) => retryDelayMs(policy, n) >= 1_000 && retryDelayMs(policy, n) <= 5_000),
    );
  });
});

describe('idempotentJobId', () => {
  it('is a valid UUID, the same for the same scope and key, different otherwise', () => {
    const id = idempotentJobId('user:alice', 'k1');
    expect(z.uuid().safeParse(id).success).toBe(true);
    expect(id[14]).toBe('5');
    expect(idempotentJobId('user:alice', 'k1')).toBe(id);
    expect(idempotentJobId('user:bob', 'k1')).not.toBe(id);
    expect(idempotentJobId('user:alice', 'k2')).not.toBe(id);
    // (scope, key) pairs that concatenate alike stay apart
    expect(idempotentJobId('user:a', 'b\nc')).not.toBe(idempotentJobId('user:a\nb', 'c'));
  });
});

describe('statusForAge', () => {
  const rules = { staleAfterMs: 10_000, offlineAfterMs: 30_000 };
  it.each([
    [0, 'online'],
    [10_000, 'online'],
    [10_001, 'stale'],
    [29_999, 'stale'],
    [30_000, 'offline'],
  ])('%i ms since the last ping is %s', (age, status) => expect(statusForAge(age, rules)).toBe(status));
});

describe('agentKey', () => {
  const validKey = /^[-/=.\w]+$/;
  it('keeps plain names and encodes the rest into valid KV keys', () => {
    expect(agentKey('worker-1')).toBe('worker-1');
    expect(agentKey('a@b.c/d e')).toMatch(/^=/);
  });
  it('is one-to-one and always a valid key without dots (leases use `<agentKey>.<jobId>`)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), fc.string({ minLength: 1, maxLength: 60 }), (a, b) => {
        const ka = agentKey(a);
        expect(ka).toMatch(validKey);
        expect(ka).not.toContain('.');
        if (a !== b) expect(ka).not.toBe(agentKey(b));
      }),
    );
  });
});

describe('parseJobParams', () => {
  it('applies defaults and reports issues under params', () => {
    expect(parseJobParams('gap_analysis', undefined)).toEqual({ depth: 1 });
    expect(parseJobParams('build', { target: 'web' })).toEqual({ target: 'web', dryRun: false });
    const err = (() => {
      try {
        parseJobParams('gap_analysis', { depth: 0, extra: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(z.ZodError);
    expect(err).toBeInstanceOf(Error);
    expect((err as z.ZodError).issues.map((i) => i.path.join('.')).sort()).toEqual(['params', 'params.depth']);
  });
  it('has a retry policy for every job type', () => {
    for (const def of Object.values(jobTypeDefinitions)) expect(def.retry.maxAttempts).toBeGreaterThanOrEqual(1);
  });
});

describe('orphaned', () => {
  const lease = { jobId: 'job-1', agent: 'a', claimedAt: '2026-01-01T00:00:10.000Z', releaseAt: null, session: 's1', seq: 3 };
  const live = { lastPingAt: '2026-01-01T00:00:11.000Z', runningJobIds: [] as string[], load: null, session: 's1', claimsSettled: 3 };
  it('is orphaned when every claim up to this one settled and the job is not listed', () => {
    expect(orphaned(lease, live)).toMatch(/no longer lists/);
    expect(orphaned(lease, { ...live, runningJobIds: ['job-1'] })).toBeNull();
  });
  it('is not orphaned while its claim may still be in transit', () => {
    expect(orphaned(lease, { ...live, claimsSettled: 2 })).toBeNull();
  });
  it('is orphaned by a newer heartbeat of another process, not by an older one', () => {
    expect(orphaned(lease, { ...live, session: 's2' })).toMatch(/restarted/);
    expect(orphaned(lease, { ...live, session: 's2', lastPingAt: '2026-01-01T00:00:09.000Z' })).toBeNull();
  });
  it('infers nothing for agents that do not tag claims and heartbeats', () => {
    expect(orphaned({ ...lease, session: null, seq: null }, live)).toBeNull();
    expect(orphaned(lease, { ...live, session: null, claimsSettled: null })).toBeNull();
    expect(orphaned(lease, { ...live, runningJobIds: null })).toBeNull();
  });
});
