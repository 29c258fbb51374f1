import type { Logger } from '@platform/kit';
import type { AgentRuntime } from './runtime.js';
import type { Job, Outcome } from './types.js';
import { codeOf, messageOf, sleep } from './util.js';

/** Answers that settle a report for good: the job is not this agent's to report any more, or the report is wrong. */
const FINAL_CODES = new Set([
  'CONFLICT',
  'NOT_FOUND',
  'BAD_REQUEST',
  'FORBIDDEN',
  'UNAUTHORIZED',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
]);
/** How long a finished job's report is retried through transient failures before it is left to the service's sweeps. */
export const REPORT_RETRY_MS = 60_000;

/**
 * Reports the outcome and, unless stopping, claims the next job in the same request (one
 * request per job in steady state). A report that fails for a transient reason (the service or
 * its store briefly away: a NATS leader election takes 5–10 s) is sent again, without the claim,
 * with backoff, for up to REPORT_RETRY_MS: meanwhile the job stays in this agent's heartbeats, so
 * the service does not take it for lost and run it a second time. A claim whose answer was lost
 * is found orphaned by the service. Answers the next job, if the request brought one.
 */
export async function report(rt: AgentRuntime, job: Job, outcome: Outcome | null, jobLog: Logger): Promise<Job | null> {
  if (!outcome) {
    rt.inFlight.delete(job.jobId);
    return null;
  }
  let seq = rt.stopping.aborted ? null : rt.claims.open();
  const giveUpAt = Date.now() + REPORT_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    const next = seq === null ? undefined : { capabilities: rt.capabilities, waitMs: rt.claimWaitMs, session: rt.claims.session, seq };
    try {
      const call = outcome.ok
        ? rt.client.jobs.complete.mutate({ jobId: job.jobId, result: outcome.result, ...(next ? { next } : {}) })
        : rt.client.jobs.fail.mutate({ jobId: job.jobId, error: outcome.error.slice(0, 5_000), ...(next ? { next } : {}) });
      const answer = await rt.claims.tracked(call);
      rt.counts.processed++;
      if (outcome.ok) jobLog.info('job succeeded');
      else jobLog.warn({ err: outcome.error }, 'job failed');
      rt.inFlight.delete(job.jobId);
      if (seq !== null) rt.claims.settle(seq, answer.next);
      return answer.next;
    } catch (err) {
      if (seq !== null) rt.claims.settle(seq, null);
      seq = null;
      // CONFLICT: cancelled while we finished; NOT_FOUND: taken back and given to another agent.
      // Anything else is transient: again, with backoff, until REPORT_RETRY_MS has passed.
      const code = codeOf(err);
      if ((code !== undefined && FINAL_CODES.has(code)) || Date.now() >= giveUpAt) {
        jobLog.warn({ err: messageOf(err), code, attempts: attempt }, 'could not report the job');
        rt.inFlight.delete(job.jobId);
        return null;
      }
      jobLog.info({ err: messageOf(err), code, attempt }, 'report failed; retrying');
      await sleep(Math.min(250 * 2 ** (attempt - 1), 5_000));
    }
  }
}

/** Hands a running job back to the queue untouched; false when that failed (the service requeues it when this agent goes offline). */
export async function release(rt: AgentRuntime, jobId: string, reason: string): Promise<boolean> {
  try {
    await rt.client.jobs.release.mutate({ jobId, reason });
    return true;
  } catch (err) {
    rt.log.warn({ jobId, err: messageOf(err) }, 'could not release the job; the service requeues it when this agent goes offline');
    return false;
  }
}
