import { describe, expect, it } from 'vitest';
import { parseEnvelope } from './events.js';

const base = {
  id: '0b8c6c1e-6a43-4c49-8d7c-4c1f0a1f2b3c',
  occurredAt: '2026-11-23T10:00:00.000Z',
  source: 'coordination',
};
const jobData = {
  jobId: '5c3a1c8e-1d2b-4f5e-9a7b-1c2d3e4f5a6b',
  jobType: 'build',
  status: 'succeeded',
  targetKind: 'task',
  targetId: null,
  attempt: 1,
  agent: 'a',
};

describe('parseEnvelope', () => {
  it('accepts a valid envelope and types its data by subject', () => {
    const r = parseEnvelope({ ...base, subject: 'coordination.job.succeeded', data: jobData });
    expect(r.ok).toBe(true);
  });

  it.each([
    ['a missing id', { ...base, id: undefined, subject: 'coordination.job.succeeded', data: jobData }, /envelope/],
    ['an unknown subject', { ...base, subject: 'coordination.job.exploded', data: jobData }, /unknown subject/],
    [
      'data that does not match the subject',
      { ...base, subject: 'coordination.job.succeeded', data: { ...jobData, jobType: 'nope' } },
      /data for coordination.job.succeeded/,
    ],
  ])('refuses %s with a reason', (_label, raw, reason) => {
    const r = parseEnvelope(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('refuses a valid envelope of a subject the consumer does not expect', () => {
    const r = parseEnvelope({ ...base, subject: 'coordination.job.failed', data: { ...jobData, status: 'failed' } }, [
      'coordination.job.succeeded',
    ]);
    expect(r).toEqual({ ok: false, reason: 'unexpected subject coordination.job.failed' });
  });
});
