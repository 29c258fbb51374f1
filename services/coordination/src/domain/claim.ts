import { JobPriority, type JobType } from '@platform/contracts';
import { badRequest, DomainError, pullNext, type JsMsg } from '@platform/kit';
import { z } from 'zod';
import { agentKey, leaseKey } from '../store/agent-record.js';
import type { JobRecord } from '../store/job-record.js';
import { jobConsumer, JOBS_STREAM } from '../store/streams.js';
import type { CoordinationDeps } from './deps.js';
import { transition } from './job-transitions.js';
import { releaseJob } from './jobs.js';
import { mutateRecord } from './outbox.js';

const WorkItem = z.object({ jobId: z.string() });

class NotClaimable extends Error {}

/**
 * Hands the next queued job of one of `capabilities` to `agent`, waiting up to `waitMs` (long poll).
 * Priorities are strict: every `high` item of the agent's types before any `normal`. The work item
 * is acked only once the job is recorded as running (compare-and-set from `queued`), so two
 * agents — through one replica or several — never both get a job.
 */
/** Who asks, as the SDK tags it: the agent process (session) and the claim's number in it. */
export interface ClaimTag {
  session: string;
  seq: number;
}

export async function claimJob(deps: CoordinationDeps, agent: string, capabilities: readonly JobType[], waitMs: number, signal?: AbortSignal, tag?: ClaimTag): Promise<JobRecord | null> {
  const key = agentKey(agent);
  let registered = deps.caches.agents.get(key)?.record;
  // The mirror may lag a registration or a ping that brought the agent back: read when in doubt.
  if (!registered || registered.status === 'offline') registered = (await deps.stores.agents.get(key))?.record;
  if (!registered) throw new DomainError('PRECONDITION_FAILED', `agent ${agent} is not registered; call agents.register first`);
  // Its jobs would be taken back at the next sweep: it must ping (or register) first.
  if (registered.status === 'offline') throw new DomainError('PRECONDITION_FAILED', `agent ${agent} is offline; ping or register before claiming`);
  const unknown = capabilities.filter((c) => !registered.capabilities.includes(c));
  if (unknown.length > 0) throw badRequest(`agent ${agent} did not register the capabilities ${unknown.join(', ')}`, { capabilities: unknown });

  const deadline = Date.now() + waitMs;
  for (;;) {
    const generation = deps.notifier.generation;
    const job = await takeNext(deps, agent, capabilities, tag);
    if (job && signal?.aborted) {
      // The agent hung up while we claimed for it: hand the job straight back rather than leave
      // it running for no one until the lease sweep notices.
      await releaseJob(deps, agent, job.id, 'claim abandoned by the agent');
      return null;
    }
    if (job) return job;
    const remaining = deadline - Date.now();
    if (remaining <= 0 || signal?.aborted) return null;
    if (deps.notifier.generation !== generation) continue; // work arrived while we looked
    await deps.notifier.wait(capabilities, Math.min(remaining, deps.settings.claimResweepMs), signal);
  }
}

async function takeNext(deps: CoordinationDeps, agent: string, capabilities: readonly JobType[], tag: ClaimTag | undefined): Promise<JobRecord | null> {
  // Start at a different type each time so one busy type does not starve the others of a priority.
  const offset = Math.floor(Math.random() * capabilities.length);
  const types = capabilities.map((_, i) => capabilities[(i + offset) % capabilities.length]!);
  for (const priority of JobPriority.options) {
    for (const type of types) {
      const queue = jobConsumer(type, priority);
      while (deps.notifier.mayHaveWork(queue)) {
        const version = deps.notifier.versionOf(queue);
        const msg = await pullNext(deps.js, JOBS_STREAM, queue);
        if (!msg) {
          deps.notifier.markEmpty(queue, version);
          break;
        }
        // The server says how many items were left behind this one: none, and the next claim need not ask.
        if (msg.info.pending === 0) deps.notifier.markEmpty(queue, version);
        const job = await claimItem(deps, agent, msg, type, priority, tag);
        if (job) return job;
      }
    }
  }
  return null;
}

/** Turns one pulled work item into a running job, or disposes of an item that no longer applies. */
async function claimItem(deps: CoordinationDeps, agent: string, msg: JsMsg, type: JobType, priority: JobPriority, tag: ClaimTag | undefined): Promise<JobRecord | null> {
  const item = WorkItem.safeParse(safeJson(msg));
  if (!item.success) {
    deps.log.warn({ subject: msg.subject }, 'dropping a malformed work item');
    msg.term();
    return null;
  }
  const jobId = item.data.jobId;
  // The lease is written while the job is read (one round trip instead of two) and dropped again
  // if the item turns out stale; it is durable before the job turns running, so a running job
  // always has one.
  const lease = leaseKey(agent, jobId);
  // The outbox marker for the started event is written at the same time (a stale item leaves it to the sweep).
  const [found, leaseRevision, marker] = await Promise.all([
    deps.stores.jobs.get(jobId),
    deps.stores.leases.put(lease, { jobId, agent, claimedAt: deps.clock().toISOString(), releaseAt: null, session: tag?.session ?? null, seq: tag?.seq ?? null }),
    deps.stores.jobs.mark(jobId),
  ]);
  const dropLease = () => deps.background.run(`lease ${jobId}`, () => deps.stores.leases.remove(lease, leaseRevision));
  if (!found || found.record.status !== 'queued') {
    // Cancelled while queued, or a duplicate item of a job that already runs: nothing to do.
    deps.log.debug({ jobId, status: found?.record.status }, 'dropping work item for a job that is not queued');
    dropLease();
    msg.term();
    return null;
  }
  const waitMs = found.record.notBefore ? Date.parse(found.record.notBefore) - deps.clock().getTime() : 0;
  if (waitMs > 0) {
    // A retry in its backoff: JetStream gives the item back when it is due.
    dropLease();
    msg.nak(waitMs);
    deps.notifier.announceLater(type, priority, waitMs);
    return null;
  }
  try {
    const { record } = await mutateRecord(
      deps,
      deps.stores.jobs,
      'job',
      jobId,
      (job) => {
        if (job.status !== 'queued') throw new NotClaimable();
        return transition(deps, job, 'running', { agent, attempt: job.attempt + 1, notBefore: null, progress: null, leaseRevision });
      },
      { initial: found, premark: marker },
    );
    msg.ack();
    return record;
  } catch (err) {
    dropLease();
    if (err instanceof NotClaimable) {
      msg.term();
      return null;
    }
    msg.nak();
    throw err;
  }
}

function safeJson(msg: JsMsg): unknown {
  try {
    return msg.json();
  } catch {
    return null;
  }
}
