import { release } from './report.js';
import type { AgentRuntime } from './runtime.js';
import type { StopResult } from './types.js';
import { sleep } from './util.js';

/**
 * Stops taking jobs and drains: in-flight jobs may finish for up to `drainMs`; then the ones still
 * running are released, and the claims still waiting are given time to answer (what they bring is
 * released by their slot). `stopping` must be aborted by the caller first.
 */
export async function drain(rt: AgentRuntime, slots: Array<Promise<void>>, drainMs: number): Promise<StopResult> {
  const before = rt.counts.processed;
  const drained = await Promise.race([Promise.allSettled(slots).then(() => true), sleep(drainMs).then(() => false)]);
  let released = 0;
  if (!drained) {
    // Finished jobs are being reported (releasing one could requeue finished work); aborted ones are handled by their slot.
    for (const jobId of rt.inFlight.ids()) {
      const entry = rt.inFlight.get(jobId);
      if (!entry || entry.phase !== 'running' || entry.abort.signal.aborted) continue;
      entry.abort.abort('shutdown');
      if (await release(rt, jobId, 'agent shutting down')) released++;
    }
    // Claims still waiting answer within claimWaitMs.
    await rt.claims.answered(rt.claimWaitMs + 2_000);
  }
  return { finished: rt.counts.processed - before, released: released + rt.counts.releasedWhileStopping };
}
