import { describe, expect, it } from 'vitest';
import { markerCutoff, outboxCutoff } from './retention.js';

const DAY = 24 * 3600_000;
const now = new Date('2026-12-07T00:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const stream = (maxAgeMs: number, duplicateWindowMs = 120_000) => ({ stream: 'COORDINATION_EVENTS', maxAgeMs, duplicateWindowMs });

describe('retention cutoffs', () => {
  it('keeps sent outbox rows for the configured time; 0 keeps them forever', () => {
    expect(outboxCutoff(now, { outboxRetentionMs: 7 * DAY })).toEqual(ago(7 * DAY));
    expect(outboxCutoff(now, { outboxRetentionMs: 0 })).toBeNull();
  });

  it('keeps a processed-event marker at least as long as the consumed stream can still deliver its event', () => {
    // Configured longer than the stream: the configuration wins.
    expect(markerCutoff(now, { processedRetentionMs: 7 * DAY }, [stream(3 * DAY)])).toEqual(ago(7 * DAY));
    // Configured shorter than the stream's max age: the stream's age wins (a redelivery may still come).
    expect(markerCutoff(now, { processedRetentionMs: 1 * DAY }, [stream(10 * DAY)])).toEqual(ago(10 * DAY));
    // The duplicate window is a floor too.
    expect(markerCutoff(now, { processedRetentionMs: 60_000 }, [stream(3_600_000, 7_200_000)])).toEqual(ago(7_200_000));
    // The longest of several consumed streams.
    expect(markerCutoff(now, { processedRetentionMs: DAY }, [stream(2 * DAY), stream(5 * DAY)])).toEqual(ago(5 * DAY));
  });

  it('deletes no marker when a consumed stream keeps messages forever, its limits are unknown, or retention is 0', () => {
    expect(markerCutoff(now, { processedRetentionMs: 7 * DAY }, [stream(0)])).toBeNull();
    expect(markerCutoff(now, { processedRetentionMs: 7 * DAY }, null)).toBeNull();
    expect(markerCutoff(now, { processedRetentionMs: 0 }, [stream(DAY)])).toBeNull();
  });
});
