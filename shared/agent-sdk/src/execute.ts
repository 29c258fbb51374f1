import type { Logger } from '@platform/kit';
import type { AgentRuntime } from './runtime.js';
import type { AbortReason, Job, JobContext, Outcome } from './types.js';
import { codeOf, messageOf } from './util.js';

/** The context a handler gets: progress and stuck reports for its job, and the signal that stops it. */
function jobContext(rt: AgentRuntime, job: Job, abort: AbortController, jobLog: Logger): JobContext {
  return {
    jobId: job.jobId,
    attempt: job.attempt,
    log: jobLog,
    signal: abort.signal,
    progress: async (fraction, message) => {
      let answer: { keepGoing: boolean; cancelled: boolean };
      try {
        answer = await rt.client.jobs.progress.mutate({
          jobId: job.jobId,
          ...(fraction !== undefined ? { fraction } : {}),
          ...(message ? { message } : {}),
        });
      } catch (err) {
        // NOT_FOUND: the job is another agent's now (taken back and given out again): stop.
        if (codeOf(err) !== 'NOT_FOUND') throw err;
        answer = { keepGoing: false, cancelled: false };
      }
      if (!answer.keepGoing) rt.inFlight.abort(job.jobId, answer.cancelled ? 'cancelled' : 'lost');
      return answer.keepGoing;
    },
    reportStuck: (reason) =>
      rt.client.agents.reportStuck.mutate({ name: rt.name, jobId: job.jobId, reason }).then((r) => ({ releaseAt: r.releaseAt })),
  };
}

/** Runs the job's handler; null when the job was stopped (cancelled, taken back, released): nothing to report. */
export async function execute(rt: AgentRuntime, job: Job, abort: AbortController, jobLog: Logger): Promise<Outcome | null> {
  const handler = rt.handlers[job.jobType];
  let outcome: Outcome;
  try {
    if (!handler) throw new Error(`no handler for ${job.jobType}`);
    outcome = { ok: true, result: (await handler(job, jobContext(rt, job, abort, jobLog))) ?? null };
  } catch (err) {
    outcome = { ok: false, error: messageOf(err) || 'failed' };
  }
  if (abort.signal.aborted) {
    jobLog.info({ reason: abort.signal.reason as AbortReason }, 'job stopped without reporting');
    return null;
  }
  return outcome;
}
