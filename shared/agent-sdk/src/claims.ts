import { randomUUID } from 'node:crypto';
import type { InFlightJobs } from './in-flight.js';
import type { Job } from './types.js';
import { sleep } from './util.js';

/**
 * The claims of this process (session). Claims are numbered within it; heartbeats say up to which
 * number every claim has settled, so the service can tell a job this process never got from one in
 * transit. Requests that may bring a job are tracked, so stop() waits for their answers instead of
 * dropping a job the server already assigned.
 */
export class Claims {
  readonly session = randomUUID();
  private last = 0;
  private readonly unsettled = new Set<number>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly inFlight: InFlightJobs) {}

  /** Numbers a new claim. */
  open(): number {
    const seq = ++this.last;
    this.unsettled.add(seq);
    return seq;
  }

  /**
   * A claim's answer arrived (or never will): it counts as settled and its job, if any, is in
   * flight — in one synchronous step, so no heartbeat sees one without the other.
   */
  settle(seq: number, job: Job | null): void {
    this.unsettled.delete(seq);
    if (job) this.inFlight.add(job);
  }

  /** Every claim up to this number has settled (what heartbeats report). */
  settledUpTo(): number {
    return this.unsettled.size > 0 ? Math.min(...this.unsettled) - 1 : this.last;
  }

  /** Tracks a request that may bring a job. */
  tracked<R>(call: Promise<R>): Promise<R> {
    this.pending.add(call);
    return call.finally(() => this.pending.delete(call));
  }

  /** Waits for the tracked requests' answers, up to `ms`. */
  async answered(ms: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.pending]), sleep(ms)]);
  }
}
