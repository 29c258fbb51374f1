import { describe, expect, it } from 'vitest';
import { deadLetterLimits, eventStreamLimits, limitsRetention, retentionEnv } from './retention.js';

describe('stream retention settings', () => {
  it('defaults to 7 days / 1 GiB for event streams and 30 days / 256 MiB for dead letters', () => {
    const env = retentionEnv.parse({});
    expect(eventStreamLimits(env)).toEqual({ maxAgeMs: 7 * 24 * 3600_000, maxBytes: 1024 ** 3 });
    expect(deadLetterLimits(env)).toEqual({ maxAgeMs: 30 * 24 * 3600_000, maxBytes: 256 * 1024 ** 2 });
  });

  it('takes 0 as no limit, and refuses an age shorter than the duplicate window allows', () => {
    const env = retentionEnv.parse({ EVENT_STREAM_MAX_AGE_S: '0', EVENT_STREAM_MAX_BYTES: '0' });
    expect(limitsRetention(eventStreamLimits(env))).toEqual({ max_age: 0, max_bytes: -1, discard: 'old' });
    expect(retentionEnv.safeParse({ EVENT_STREAM_MAX_AGE_S: '60' }).success).toBe(false);
    expect(retentionEnv.safeParse({ DEAD_LETTER_MAX_BYTES: '-1' }).success).toBe(false);
  });
});
