import type { Logger } from '@platform/kit';
import type { AgentRuntime } from './runtime.js';
import type { Job, Outcome } from './types.js';
import { codeOf, messageOf, sleep } from './util.js';

/**
 * Reports the outcome and, unless stopping, claims the next job in the same request (one
 * request per job in steady state). A report that fails for a transient reason is sent once
 * more, without the claim; a claim whose answer was lost is found orphaned by the service.
 * Answers the next job, if the request brought one.
 */
export async function report(rt: AgentRuntime, job: Job, outcome: Outcome | null, jobLog: Logger): Promise<Job | null> {
  if (!outcome) {
    rt.inFlight.delete(job.jobId);
    return null;
  }
  let seq = rt.stopping.aborted ? null : rt.claims.open();
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
      // Anything else: once more, then left to the service's sweeps.
      if (codeOf(err) === 'CONFLICT' || codeOf(err) === 'NOT_FOUND' || attempt >= 2) {
        jobLog.warn({ err: messageOf(err), code: codeOf(err) }, 'could not report the job');
        rt.inFlight.delete(job.jobId);
        return null;
      }
      await sleep(250);
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
