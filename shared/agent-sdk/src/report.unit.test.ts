import { createLogger } from '@platform/kit';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { Claims } from './claims.js';
import { InFlightJobs } from './in-flight.js';
import { report } from './report.js';
import type { AgentRuntime } from './runtime.js';
import type { Job } from './types.js';

const log = createLogger('report-test', 'silent');
const failure = (code: string) => new TRPCClientError(code, { result: { error: { message: code, code: -32603, data: { code } } } });

/** A runtime whose jobs.complete answers each call from `answers` in turn (an error is thrown). */
function runtime(answers: Array<Error | { next: null }>) {
  const inFlight = new InFlightJobs(log);
  const calls: number[] = [];
  const complete = async () => {
    calls.push(Date.now());
    const a = answers.shift();
    if (!a || a instanceof Error) throw a ?? new Error('no answer left');
    return a;
  };
  const stopping = new AbortController();
  stopping.abort(); // no claim rides along: only the report is under test
  const rt = {
    name: 'a',
    client: { jobs: { complete: { mutate: complete } } },
    capabilities: [],
    claimWaitMs: 0,
    log,
    inFlight,
    claims: new Claims(inFlight),
    stopping: stopping.signal,
    counts: { processed: 0, releasedWhileStopping: 0 },
  } as unknown as AgentRuntime;
  return { rt, inFlight, calls };
}

const job = { jobId: 'job-1' } as Job;

describe('report', () => {
  it('keeps a finished job listed and reports it again through transient failures (a NATS leader election), so the service never runs it twice', async () => {
    const { rt, inFlight, calls } = runtime([
      failure('INTERNAL_SERVER_ERROR'),
      failure('SERVICE_UNAVAILABLE'),
      failure('INTERNAL_SERVER_ERROR'),
      { next: null },
    ]);
    inFlight.add(job);
    const seen: boolean[] = [];
    const watch = setInterval(() => seen.push(inFlight.get(job.jobId) !== undefined), 50);
    await report(rt, job, { ok: true, result: {} }, log);
    clearInterval(watch);
    expect(calls).toHaveLength(4);
    expect(seen.every(Boolean)).toBe(true); // listed in every heartbeat until the report went through
    expect(inFlight.get(job.jobId)).toBeUndefined();
    expect(rt.counts.processed).toBe(1);
  });

  it('stops at an answer that settles it for good (cancelled, or given to another agent)', async () => {
    for (const code of ['CONFLICT', 'NOT_FOUND']) {
      const { rt, inFlight, calls } = runtime([failure(code), { next: null }]);
      inFlight.add(job);
      expect(await report(rt, job, { ok: true, result: {} }, log)).toBeNull();
      expect(calls).toHaveLength(1);
      expect(inFlight.get(job.jobId)).toBeUndefined();
      expect(rt.counts.processed).toBe(0);
    }
  });
});
