import type { JobStatus, Principal } from '@platform/contracts';
import { mapStreamErrors } from '@platform/kit';
import { tracked } from '@trpc/server';
import type { z } from 'zod';
import type { JobRecord } from '../store/job-record.js';
import { watchEntries } from '../store/kv-watch.js';
import { toView, type Agent } from './agents.js';
import type { CoordinationDeps } from './deps.js';
import { getJob } from './jobs.js';
import { viewerFor } from './ownership.js';

/**
 * Live updates (tRPC subscriptions, shared/kit subscriptions.ts). Each stream's event id is a
 * durable position, so a client that reconnects with the last id it saw resumes with no gap and
 * no duplicate:
 * - a job's status: the transition's position in the job's history (the record keeps every
 *   transition, appended in the same compare-and-set as the change);
 * - the agent registry: the revision of the agent's record in the `agents` KV bucket.
 */

// The events' types are left to inference (object literal types, no named interface): the client
// package inlines a router's types and refuses names it cannot ship (shared/client/build).

/** After these the stream ends (a dead job retried by hand is followed by subscribing again with the last id). */
const FINAL: ReadonlySet<JobStatus> = new Set<JobStatus>(['succeeded', 'cancelled', 'dead']);

/**
 * One transition of a job, as `jobs.onStatus` sends it. `seq`: the transition's position in the
 * job's history (1 = queued when triggered), the event id. `result`/`error`: on the job's latest
 * transition only, as jobs.get shows them.
 */
function transitionEvent(job: JobRecord, seq: number) {
  const t = job.history[seq - 1]!;
  const latest = seq === job.history.length;
  return {
    jobId: job.id,
    seq,
    status: t.status,
    at: t.at,
    attempt: t.attempt,
    agent: t.agent,
    note: t.note ?? null,
    ...(latest && job.result !== undefined ? { result: job.result as unknown } : {}),
    ...(latest && job.error !== undefined ? { error: job.error } : {}),
  };
}

/**
 * A job's transitions after `after`, then each new one as it happens; ends after a final status.
 * Whoever may read the job (jobs.get) may follow it; anyone else gets NOT_FOUND, as from jobs.get.
 * Visibility is asked again at every change: an agent sees a job only while it holds it, so its
 * stream ends when the job leaves it.
 *
 * No seam between backlog and live: the KV watch delivers the record as it is now, then every
 * later revision; each revision carries the whole history, and only positions past the last one
 * sent are sent.
 */
export async function jobStatusStream(
  deps: CoordinationDeps,
  principal: Principal,
  jobId: string,
  after: number,
  signal: AbortSignal | undefined,
) {
  await getJob(deps, principal, jobId);
  const viewer = await viewerFor(deps.teams, principal);
  const { kv, parse } = deps.stores.jobs.records;
  async function* follow() {
    let sent = after;
    for await (const entry of watchEntries(kv, { key: jobId }, signal)) {
      if (entry.operation !== 'PUT') return;
      const job = parse(entry);
      if (!viewer.job(job)) return;
      while (sent < job.history.length) {
        sent++;
        yield tracked(String(sent), transitionEvent(job, sent));
      }
      if (FINAL.has(job.status)) return;
    }
  }
  return mapStreamErrors(follow());
}

/**
 * One change of the agent registry, as `agents.onChange` sends it: `revision`, the record's
 * revision in the `agents` bucket (the event id); `agent`, the agent as agents.get shows it at
 * that revision (heartbeat fields as of sending), null once removed.
 */
const registryEvent = (revision: number, name: string, agent: z.output<typeof Agent> | null) => ({ revision, name, agent });

/** agentKey's inverse: a name that is not a plain key token is stored as `=` + base64url. */
const nameOfKey = (key: string) => (key.startsWith('=') ? Buffer.from(key.slice(1), 'base64url').toString('utf8') : key);

/**
 * The registry: without `after`, every agent as it is now (in revision order), then each change;
 * with it, the changes since that revision. The bucket keeps one revision per agent, so an agent
 * that changed several times while the client was away comes once, as it is now: nothing is
 * missed and the client's picture ends up the registry's. Registration, status (online, stale,
 * offline), stuck reports and error counts change a record; heartbeats do not (they go to the
 * liveness bucket, and would make this stream tick every few seconds per agent).
 */
export function agentRegistryStream(deps: CoordinationDeps, after: number, signal: AbortSignal | undefined) {
  const { kv, parse } = deps.stores.agents.records;
  async function* follow() {
    for await (const entry of watchEntries(kv, after > 0 ? { resumeFromRevision: after + 1 } : {}, signal)) {
      if (entry.revision <= after) continue;
      const id = String(entry.revision);
      if (entry.operation !== 'PUT') {
        yield tracked(id, registryEvent(entry.revision, nameOfKey(entry.key), null));
        continue;
      }
      const record = parse(entry);
      yield tracked(id, registryEvent(entry.revision, record.name, toView(record, deps.caches.liveness.get(entry.key)?.record)));
    }
  }
  return mapStreamErrors(follow());
}
