import type { JobRecord } from '../store/job-record.js';
import { leaseKey } from '../store/agent-record.js';
import type { CoordinationDeps } from './deps.js';
import { assertHeldBy, requeue } from './job-transitions.js';
import { mutateRecord, type MutateOptions, type UNCHANGED } from './mutate-record.js';

/*
 * How a job is written once it exists: compare-and-set with its outbox marker, and its lease
 * ended with its run. Shared by jobs.ts (the job procedures) and claim.ts (which hands a job back
 * when its agent hung up mid-claim), so neither imports the other for it.
 */

/** A job transition: it always owes an event, so the outbox marker is written while the job is read. */
export const mutateJob = (
  deps: CoordinationDeps,
  id: string,
  change: (job: JobRecord) => JobRecord | typeof UNCHANGED,
  opts: MutateOptions<JobRecord> = { premark: true },
) => mutateRecord(deps, deps.stores.jobs, 'job', id, change, opts);

/**
 * A job's lease ends with its run, in the background: the job's record already says it is not
 * running, and a lease left behind by a crash is removed by the lease sweep.
 */
export function endLease(deps: CoordinationDeps, held: Held, jobId: string): void {
  if (held?.agent) deps.background.run(`lease ${jobId}`, () => removeLease(deps, held, jobId));
}

type Held = { agent: string | null; leaseRevision: number | null } | null;

/** Removes the lease `held` describes (none: nothing to do). */
export async function removeLease(deps: CoordinationDeps, held: Held, jobId: string): Promise<void> {
  if (held?.agent) await deps.stores.leases.remove(leaseKey(held.agent, jobId), held.leaseRevision ?? undefined);
}

/** What a running job's lease was, read inside a change function (the record before the change). */
export const heldBy = (job: JobRecord) => (job.status === 'running' ? { agent: job.agent, leaseRevision: job.leaseRevision } : null);
export const ended = { leaseRevision: null } as const;

/** The agent hands a job back untouched (e.g. it is shutting down): queued again, not counted as a failure. */
export async function releaseJob(deps: CoordinationDeps, agent: string, id: string, reason?: string): Promise<JobRecord> {
  let held: ReturnType<typeof heldBy> = null;
  const { record } = await mutateJob(deps, id, (job) => {
    assertHeldBy(job, agent);
    held = heldBy(job);
    return requeue(deps, job, ended, reason ? `released by agent: ${reason}` : 'released by agent');
  });
  endLease(deps, held, id);
  return record;
}
