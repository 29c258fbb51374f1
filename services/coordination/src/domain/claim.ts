import { JobPriority, type JobType } from '@platform/contracts';
import { badRequest, DomainError } from '@platform/kit';
import { z } from 'zod';
import { agentKey, leaseKey } from '../store/agent-record.js';
import type { JobRecord } from '../store/job-record.js';
import { isWorkItemSubject, jobConsumer } from '@platform/contracts';
import type { Versioned } from '../store/typed-kv.js';
import type { ClaimTag, CoordinationDeps, Settlement, WorkDelivery } from './deps.js';
import { isClaimable, transition } from './job-transitions.js';
import { releaseJob } from './job-writes.js';
import { mutateRecord } from './mutate-record.js';

const WorkItem = z.object({ jobId: z.string() });

class NotClaimable extends Error {}
/** A retry still in its backoff, found on a fresh read inside the compare-and-set loop. */
class NotYet extends Error {
  constructor(readonly laterMs: number) {
    super('not yet');
  }
}

/**
 * Hands the next queued job of one of `capabilities` to `agent`, waiting up to `waitMs` (long poll).
 * Priorities are strict: every `high` item of the agent's types before any `normal`. The work item
 * is acked only once the job is recorded as running (compare-and-set from `queued`), so two
 * agents — through one replica or several — never both get a job.
 */
export type { ClaimTag, Claimant } from './deps.js';

export async function claimJob(
  deps: CoordinationDeps,
  agent: string,
  capabilities: readonly JobType[],
  waitMs: number,
  signal?: AbortSignal,
  tag?: ClaimTag,
): Promise<JobRecord | null> {
  const key = agentKey(agent);
  let registered = deps.caches.agents.get(key)?.record;
  // The mirror may lag a registration or a ping that brought the agent back: read when in doubt.
  if (!registered || registered.status === 'offline') registered = (await deps.stores.agents.get(key))?.record;
  if (!registered) throw new DomainError('PRECONDITION_FAILED', `agent ${agent} is not registered; call agents.register first`);
  // Its jobs would be taken back at the next sweep: it must ping (or register) first.
  if (registered.status === 'offline')
    throw new DomainError('PRECONDITION_FAILED', `agent ${agent} is offline; ping or register before claiming`);
  const unknown = capabilities.filter((c) => !registered.capabilities.includes(c));
  if (unknown.length > 0)
    throw badRequest(`agent ${agent} did not register the capabilities ${unknown.join(', ')}`, { capabilities: unknown });

  const deadline = Date.now() + waitMs;
  for (;;) {
    const generation = deps.notifier.generation;
    let job = await takeNext(deps, agent, capabilities, tag);
    if (!job) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || signal?.aborted) return null;
      if (deps.notifier.generation !== generation) continue; // work arrived while we looked
      job = await deps.notifier.wait(capabilities, Math.min(remaining, deps.settings.claimResweepMs), signal, { agent, tag });
      if (!job) continue;
    }
    if (signal?.aborted) {
      // The agent hung up while we claimed for it: hand the job straight back rather than leave
      // it running for no one until the lease sweep notices.
      await releaseJob(deps, agent, job.id, 'claim abandoned by the agent');
      return null;
    }
    return job;
  }
}

/**
 * Dispatches a job this replica just created (trigger, schedule): straight to a claim waiting
 * here when there is one, else through its work queue. The hand-over is the same claim as a
 * pulled item's (lease, then compare-and-set from `queued`), minus the work item: it is dropped
 * from the outbox before anything sent it, which saves the publish, the pull and the ack, and a
 * waiting agent starts the job one queue round trip sooner. Strict priority still holds: a claim
 * only waits after finding every queue it can take from empty.
 */
export async function dispatchCreated(deps: CoordinationDeps, created: Versioned<JobRecord>, marker: number | null): Promise<void> {
  const job = created.record;
  const waiter = deps.notifier.takeWaiter(job.jobType);
  if (waiter) {
    try {
      // The create's marker still stands (nothing has been sent): the claim's write reuses it.
      const dropWorkItem = (current: JobRecord) => ({ ...current, outbox: current.outbox.filter((m) => !isWorkItemSubject(m.subject)) });
      const outcome = await startJob(deps, waiter.claimant.agent, job.id, waiter.claimant.tag, created, dropWorkItem, marker ?? undefined);
      if ('started' in outcome) {
        waiter.accept(outcome.started);
        return;
      }
    } catch (err) {
      deps.log.warn(
        { jobId: job.id, agent: waiter.claimant.agent, err: err instanceof Error ? err.message : String(err) },
        'hand-over failed; the job goes through its queue',
      );
    }
    waiter.wake();
  }
  deps.outbox.send(deps.stores.jobs, job.id, created, marker);
}

async function takeNext(
  deps: CoordinationDeps,
  agent: string,
  capabilities: readonly JobType[],
  tag: ClaimTag | undefined,
): Promise<JobRecord | null> {
  // Start at a different type each time so one busy type does not starve the others of a priority.
  const offset = Math.floor(Math.random() * capabilities.length);
  const types = capabilities.map((_, i) => capabilities[(i + offset) % capabilities.length]!);
  for (const priority of JobPriority.options) {
    for (const type of types) {
      const queue = jobConsumer(type, priority);
      while (deps.notifier.mayHaveWork(queue)) {
        const version = deps.notifier.versionOf(queue);
        const item = await deps.workQueues.pull(queue);
        if (!item) {
          deps.notifier.markEmpty(queue, version);
          break;
        }
        // The server says how many items were left behind this one: none, and the next claim need not ask.
        if (item.pending === 0) deps.notifier.markEmpty(queue, version);
        const job = await claimItem(deps, agent, item, type, priority, tag);
        if (job) return job;
      }
    }
  }
  return null;
}

export type StartOutcome = { started: JobRecord } | { gone: true } | { laterMs: number };

/**
 * Turns a queued job into `agent`'s running job: its lease (written while the job is read, and
 * durable before the job turns running, so a running job always has one), then the
 * compare-and-set from `queued` (with the outbox marker for the started event written up front).
 * `gone`: cancelled, already running or finished; `laterMs`: a retry still in its backoff. The
 * lease is dropped again whenever the job is known not to have started.
 */
async function startJob(
  deps: CoordinationDeps,
  agent: string,
  jobId: string,
  tag: ClaimTag | undefined,
  read: Versioned<JobRecord> | Promise<Versioned<JobRecord> | null>,
  adjust: (job: JobRecord) => JobRecord = (job) => job,
  /** An outbox marker already standing for this record (else one is written now). */
  standingMarker?: number,
): Promise<StartOutcome> {
  const lease = leaseKey(agent, jobId);
  const [found, leaseRevision] = await Promise.all([
    read,
    deps.stores.leases.put(lease, {
      jobId,
      agent,
      claimedAt: deps.clock().toISOString(),
      releaseAt: null,
      session: tag?.session ?? null,
      seq: tag?.seq ?? null,
    }),
  ]);
  const dropLease = () => deps.background.run(`lease ${jobId}`, () => deps.stores.leases.remove(lease, leaseRevision));
  if (!found || found.record.status !== 'queued') {
    deps.log.debug({ jobId, status: found?.record.status }, 'not starting a job that is not queued');
    dropLease();
    return { gone: true };
  }
  const waitMs = (job: JobRecord) => (job.notBefore ? Date.parse(job.notBefore) - deps.clock().getTime() : 0);
  const laterMs = waitMs(found.record);
  if (laterMs > 0) {
    dropLease();
    return { laterMs };
  }
  try {
    const { record } = await mutateRecord(
      deps,
      deps.stores.jobs,
      'job',
      jobId,
      (job) => {
        if (!isClaimable(job)) throw new NotClaimable();
        // A re-read (the version read first was stale: another replica requeued it) decides again,
        // backoff included.
        const wait = waitMs(job);
        if (wait > 0) throw new NotYet(wait);
        return transition(deps, adjust(job), 'running', {
          agent,
          attempt: job.attempt + 1,
          notBefore: null,
          progress: null,
          leaseRevision,
        });
      },
      // The lease, durable before the write, covers its started event (no outbox marker; see
      // coveredByLease); a hand-over reuses the create's marker, which covers the queued event too.
      standingMarker !== undefined ? { initial: found, premark: standingMarker } : { initial: found, coveredByLease: {} },
    );
    return { started: record };
  } catch (err) {
    if (err instanceof NotClaimable || err instanceof NotYet) {
      dropLease();
      return err instanceof NotYet ? { laterMs: err.laterMs } : { gone: true };
    }
    // Any other failure may have come after the write landed (its answer lost in a NATS leader
    // election, say): the job may now run under this lease for an agent that never hears of it.
    // So the lease stays, and the lease sweep settles it: it requeues the job once the agent's
    // heartbeats show it never got it, or removes the lease if the job never turned running.
    throw err;
  }
}

/** Turns one pulled work item into a running job, or disposes of an item that no longer applies. */
async function claimItem(
  deps: CoordinationDeps,
  agent: string,
  delivery: WorkDelivery,
  type: JobType,
  priority: JobPriority,
  tag: ClaimTag | undefined,
): Promise<JobRecord | null> {
  const item = WorkItem.safeParse(delivery.body);
  if (!item.success) {
    deps.log.warn({ subject: delivery.subject }, 'dropping a malformed work item');
    delivery.settle({ kind: 'drop' });
    return null;
  }
  // A job this process last saw queued (it created or requeued it) is tried without a read: if it
  // changed since, the compare-and-set fails and startJob decides on a fresh read. Any other state
  // is read first, since "not queued" would drop the item.
  const seen = deps.stores.jobs.recent.get(item.data.jobId);
  const read = seen?.record.status === 'queued' && seen.record.notBefore === null ? seen : deps.stores.jobs.get(item.data.jobId);
  let outcome: StartOutcome;
  try {
    outcome = await startJob(deps, agent, item.data.jobId, tag, read);
  } catch (err) {
    delivery.settle({ kind: 'redeliver' });
    throw err;
  }
  delivery.settle(settlementFor(outcome));
  if ('started' in outcome) return outcome.started;
  if ('laterMs' in outcome) deps.notifier.announceLater(type, priority, outcome.laterMs);
  return null;
}

/**
 * What becomes of a work item once its claim is decided: started, it is done; a retry still in
 * its backoff comes back when due; cancelled while queued, or a duplicate item of a job that
 * already runs, it is dropped (nothing to do).
 */
export function settlementFor(outcome: StartOutcome): Settlement {
  if ('started' in outcome) return { kind: 'done' };
  if ('laterMs' in outcome) return { kind: 'later', ms: outcome.laterMs };
  return { kind: 'drop' };
}
