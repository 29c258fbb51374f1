import type { Logger } from '@platform/kit';
import type { AbortReason, Job } from './types.js';

interface Entry {
  job: Job;
  abort: AbortController;
  /** `reporting` once the handler is done: the report in flight settles it, stop() must not release it. */
  phase: 'running' | 'reporting';
}

/**
 * The jobs this process holds, from the claim answer that brought each until its report (or
 * release) is settled. Heartbeats list them, so the service can tell which of them were
 * cancelled or taken back, and `abort` stops a handler for either reason.
 */
export class InFlightJobs {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly log: Logger) {}

  add(job: Job): void {
    this.entries.set(job.jobId, { job, abort: new AbortController(), phase: 'running' });
  }

  get(jobId: string): Entry | undefined {
    return this.entries.get(jobId);
  }

  delete(jobId: string): void {
    this.entries.delete(jobId);
  }

  /** Aborts a job's handler (once): cancelled, lost to another agent, or released at shutdown. */
  abort(jobId: string, reason: AbortReason): void {
    const entry = this.entries.get(jobId);
    if (entry && !entry.abort.signal.aborted) {
      this.log.info({ jobId, reason }, 'stopping job');
      entry.abort.abort(reason);
    }
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }
}
