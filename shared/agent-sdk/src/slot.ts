import { contextFromHeaders, SpanKind, withSpan } from '@platform/kit';
import { execute } from './execute.js';
import { release, report } from './report.js';
import type { AgentRuntime } from './runtime.js';
import type { Job } from './types.js';
import { messageOf, sleep } from './util.js';

/**
 * One slot: claims a job, runs it, reports it and takes the next one the report brought (or
 * claims again), until the agent stops. A job that arrives while stopping goes straight back.
 */
export async function runSlot(rt: AgentRuntime): Promise<void> {
  let next: Job | null = null;
  for (;;) {
    let job: Job | null = next;
    next = null;
    if (!job) {
      if (rt.stopping.aborted) break;
      job = await claimOnce(rt);
      if (!job) continue;
    }
    const entry = rt.inFlight.get(job.jobId);
    if (!entry) continue;
    if (rt.stopping.aborted) {
      // Still listed in heartbeats while it is released.
      entry.abort.abort('shutdown');
      if (await release(rt, job.jobId, 'agent shutting down')) rt.counts.releasedWhileStopping++;
      rt.inFlight.delete(job.jobId);
      continue;
    }
    next = await runJob(rt, job, entry.abort, () => (entry.phase = 'reporting'));
  }
}

/**
 * Runs one job and reports it, as a span in the trace of its trigger: handler and report are
 * children of it, so the completion call (and the events it causes) carry the same trace id.
 */
function runJob(rt: AgentRuntime, job: Job, abort: AbortController, onReporting: () => void): Promise<Job | null> {
  const jobLog = rt.log.child({ jobId: job.jobId, jobType: job.jobType, attempt: job.attempt });
  const traceparent = job.traceparent;
  const parent = traceparent ? contextFromHeaders((k) => (k === 'traceparent' ? traceparent : undefined)) : undefined;
  return withSpan<Job | null>(
    `job ${job.jobType}`,
    { kind: SpanKind.CONSUMER, attributes: { 'job.id': job.jobId, 'job.attempt': job.attempt }, ...(parent ? { parent } : {}) },
    async () => {
      const outcome = await execute(rt, job, abort, jobLog);
      onReporting();
      return report(rt, job, outcome, jobLog);
    },
  );
}

/** One long-poll claim; null when it brought nothing or failed (after a back-off, unless stopping). */
export async function claimOnce(rt: AgentRuntime): Promise<Job | null> {
  const seq = rt.claims.open();
  try {
    // Not aborted on stop: the long poll ends within claimWaitMs, and a job it brings while
    // stopping is handed straight back (aborting the request could lose a job already assigned).
    const { job } = await rt.claims.tracked(
      rt.client.jobs.claim.mutate({ capabilities: rt.capabilities, waitMs: rt.claimWaitMs, session: rt.claims.session, seq }),
    );
    rt.claims.settle(seq, job);
    return job;
  } catch (err) {
    rt.claims.settle(seq, null);
    if (!rt.stopping.aborted) {
      rt.log.warn({ err: messageOf(err) }, 'claim failed; backing off');
      await sleep(1_000, rt.stopping);
    }
    return null;
  }
}
