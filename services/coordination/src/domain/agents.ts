import { AgentStatus, JobType, type Principal } from '@platform/contracts';
import { DomainError, notFound } from '@platform/kit';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { agentStatusEvent, agentStuckEvent } from '../events/agent-events.js';
import { AgentCard, agentKey, leaseKey, StuckReport, type AgentRecord, type Liveness } from '../store/agent-record.js';
import { AlreadyExists, RevisionConflict } from '../store/typed-kv.js';
import type { CoordinationDeps } from './deps.js';
import { mutateRecord, UNCHANGED } from './mutate-record.js';
import { keysetPage, type Page } from './paging.js';

/** What callers see of an agent on the wire (agents.get and list, agents.onChange): AgentView, as a schema. */
export const Agent = z.object({
  name: z.string(),
  version: z.string(),
  capabilities: z.array(JobType),
  card: AgentCard.nullable(),
  status: AgentStatus,
  registeredAt: z.string(),
  statusChangedAt: z.string(),
  lastPingAt: z.string(),
  currentJobId: z.string().nullable(),
  runningJobIds: z.array(z.string()),
  load: z.number().nullable(),
  errorCount: z.number().int(),
  stuckCount: z.number().int(),
  lastStuck: StuckReport.nullable(),
});

/** What callers see of an agent: its registration and its latest heartbeat. */
export interface AgentView {
  name: string;
  version: string;
  capabilities: JobType[];
  card: AgentCard | null;
  status: AgentStatus;
  registeredAt: string;
  statusChangedAt: string;
  lastPingAt: string;
  currentJobId: string | null;
  runningJobIds: string[];
  load: number | null;
  errorCount: number;
  stuckCount: number;
  lastStuck: AgentRecord['lastStuck'];
}

const later = (a: string, b: string | undefined) => (b && b > a ? b : a);

export function toView(record: AgentRecord, live: Liveness | null | undefined): AgentView {
  const { outbox: _outbox, updatedAt: _updatedAt, ...rest } = record;
  const running = live?.runningJobIds ?? [];
  return {
    ...rest,
    lastPingAt: later(record.lastPingAt, live?.lastPingAt),
    currentJobId: running[0] ?? null,
    runningJobIds: running,
    load: live?.load ?? null,
  };
}

/** Agents act for themselves only; users and services (supervisors, operators) may act for any agent. */
export function assertActsFor(principal: Principal, agent: string): void {
  if (principal.kind === 'agent' && principal.id !== agent)
    throw new DomainError('FORBIDDEN', `agent ${principal.id} cannot act for agent ${agent}`);
}

async function findAgent(deps: CoordinationDeps, name: string): Promise<AgentRecord> {
  const key = agentKey(name);
  const record = deps.caches.agents.get(key)?.record ?? (await deps.stores.agents.get(key))?.record;
  if (!record) throw notFound('agent', name);
  return record;
}

async function heartbeat(deps: CoordinationDeps, name: string, live: Liveness): Promise<void> {
  const key = agentKey(name);
  const revision = await deps.stores.liveness.put(key, live);
  deps.caches.liveness.remember(key, live, revision);
}

export interface RegisterInput {
  version: string;
  capabilities: JobType[];
  card?: AgentCard | undefined;
  runningJobIds?: string[] | undefined;
  session?: string | undefined;
}

export interface Registration {
  agent: AgentView;
  /** The agent's new heartbeat signing key (see issueHeartbeatKey): for the registering agent only. */
  heartbeatKey: string;
  heartbeatIntervalMs: number;
  staleAfterMs: number;
  offlineAfterMs: number;
}

/**
 * A fresh heartbeat signing key for the agent, replacing the one before: every registration (a
 * process start, or the SDK registering again) gets its own, so heartbeats a previous process
 * signs stop verifying. Stored before anything else so the agent's first signed heartbeat finds it.
 */
async function issueHeartbeatKey(deps: CoordinationDeps, name: string, session: string | null, now: string): Promise<string> {
  const key = agentKey(name);
  const record = { key: randomBytes(32).toString('base64url'), issuedAt: now, session };
  const revision = await deps.stores.heartbeatKeys.put(key, record);
  deps.caches.heartbeatKeys.remember(key, record, revision);
  return record.key;
}

/**
 * Registers an agent, or updates its registration (idempotent by name). Registering counts as a
 * heartbeat; an agent that was stale or offline is online again (with its event). Answers a new
 * heartbeat signing key each time.
 */
export async function registerAgent(deps: CoordinationDeps, name: string, input: RegisterInput): Promise<Registration> {
  const key = agentKey(name);
  const now = deps.clock().toISOString();
  const heartbeatKey = await issueHeartbeatKey(deps, name, input.session ?? null, now);
  const live: Liveness = {
    lastPingAt: now,
    runningJobIds: input.runningJobIds ?? null,
    load: null,
    session: input.session ?? null,
    claimsSettled: input.session ? 0 : null,
  };
  await heartbeat(deps, name, live);
  const fresh: AgentRecord = {
    name,
    version: input.version,
    capabilities: input.capabilities,
    card: input.card ?? null,
    status: 'online',
    registeredAt: now,
    updatedAt: now,
    statusChangedAt: now,
    lastPingAt: now,
    errorCount: 0,
    stuckCount: 0,
    lastStuck: null,
    outbox: [agentStatusEvent(deps, name, 'online', now)],
  };
  let record: AgentRecord;
  try {
    const written = await deps.stores.agents.create(key, fresh);
    deps.outbox.send(deps.stores.agents, key, { record: fresh, revision: written.revision }, written.marker);
    record = fresh;
    deps.caches.agents.remember(key, record, written.revision);
  } catch (err) {
    if (!(err instanceof AlreadyExists)) throw err;
    const updated = await mutateRecord(deps, deps.stores.agents, 'agent', key, (current) => {
      const next: AgentRecord = {
        ...current,
        version: input.version,
        capabilities: input.capabilities,
        card: input.card ?? null,
        updatedAt: now,
        lastPingAt: later(current.lastPingAt, now),
      };
      return current.status === 'online' ? next : withStatus(deps, next, 'online', now);
    });
    record = updated.record;
    deps.caches.agents.remember(key, record, updated.revision);
  }
  const { heartbeatIntervalMs, staleAfterMs, offlineAfterMs } = deps.settings;
  return { agent: toView(record, live), heartbeatKey, heartbeatIntervalMs, staleAfterMs, offlineAfterMs };
}

function withStatus(deps: CoordinationDeps, record: AgentRecord, status: AgentStatus, lastPingAt: string): AgentRecord {
  const at = deps.clock().toISOString();
  return {
    ...record,
    status,
    statusChangedAt: at,
    updatedAt: at,
    lastPingAt,
    outbox: [...record.outbox, agentStatusEvent(deps, record.name, status, lastPingAt)],
  };
}

/**
 * Moves an agent to `status` with its event, unless it is already there. `lastPingAt` is the
 * newest heartbeat the caller knows; the record keeps the newest of both.
 */
export async function setAgentStatus(deps: CoordinationDeps, name: string, status: AgentStatus, lastPingAt: string): Promise<boolean> {
  const key = agentKey(name);
  const { record, revision, changed } = await mutateRecord(
    deps,
    deps.stores.agents,
    'agent',
    key,
    (current) => (current.status === status ? UNCHANGED : withStatus(deps, current, status, later(current.lastPingAt, lastPingAt))),
    { premark: true },
  );
  deps.caches.agents.remember(key, record, revision);
  if (changed) deps.log.info({ agent: name, status, lastPingAt: record.lastPingAt }, 'agent status changed');
  return changed;
}

export interface PingInput {
  currentJobId?: string | undefined;
  runningJobIds?: string[] | undefined;
  load?: number | undefined;
  session?: string | undefined;
  claimsSettled?: number | undefined;
}

export interface PingAnswer {
  status: AgentStatus;
  heartbeatIntervalMs: number;
  /** Jobs the agent listed that were cancelled: stop working on them. */
  cancelledJobIds: string[];
  /** Jobs the agent listed that are no longer its (requeued after it was offline or stuck): stop, do not report. */
  lostJobIds: string[];
  /** The heartbeat recorded before this one (null: none), from any path. */
  previousHeartbeatAt: string | null;
}

/**
 * Records a heartbeat, from a ping or from NATS (domain/heartbeats.ts): one KV put on the hot
 * path (the registry is read from the local mirror), and `online` again if the agent was not.
 * `sentAt`: when the agent sent it, if not now. Answers the jobs the agent listed (null: it did not say).
 */
export async function recordHeartbeat(deps: CoordinationDeps, name: string, input: PingInput, sentAt?: Date): Promise<string[] | null> {
  const record = await findAgent(deps, name);
  const at = (sentAt ?? deps.clock()).toISOString();
  const listed = input.runningJobIds ?? (input.currentJobId ? [] : null);
  const running = listed && input.currentJobId && !listed.includes(input.currentJobId) ? [...listed, input.currentJobId] : listed;
  await heartbeat(deps, name, {
    lastPingAt: at,
    runningJobIds: running,
    load: input.load ?? null,
    session: input.session ?? null,
    claimsSettled: input.claimsSettled ?? null,
  });
  if (record.status !== 'online') await setAgentStatus(deps, name, 'online', at);
  return running;
}

/** A heartbeat that answers: the jobs the agent lists are checked so it learns about cancellations. */
export async function pingAgent(deps: CoordinationDeps, name: string, input: PingInput): Promise<PingAnswer> {
  const previousHeartbeatAt = deps.caches.liveness.get(agentKey(name))?.record.lastPingAt ?? null;
  const running = await recordHeartbeat(deps, name, input);
  const cancelledJobIds: string[] = [];
  const lostJobIds: string[] = [];
  await Promise.all(
    (running ?? []).map(async (jobId) => {
      const job = (await deps.stores.jobs.get(jobId))?.record;
      if (job?.status === 'cancelled') cancelledJobIds.push(jobId);
      else if (!job || job.status !== 'running' || job.agent !== name) lostJobIds.push(jobId);
    }),
  );
  return { status: 'online', heartbeatIntervalMs: deps.settings.heartbeatIntervalMs, cancelledJobIds, lostJobIds, previousHeartbeatAt };
}

export async function getAgent(deps: CoordinationDeps, name: string): Promise<AgentView> {
  const key = agentKey(name);
  const [record, live] = await Promise.all([deps.stores.agents.get(key), deps.stores.liveness.get(key)]);
  if (!record) throw notFound('agent', name);
  return toView(record.record, live?.record);
}

/** Agents by name (code-unit order), a page at a time; every signed-in caller sees the registry. */
export async function listAgents(
  deps: CoordinationDeps,
  filter: { status?: AgentStatus | undefined; capability?: JobType | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<AgentView>> {
  const [records, live] = await Promise.all([deps.stores.agents.records.scan(), deps.stores.liveness.scan()]);
  const liveByKey = new Map(live.map((l) => [l.key, l.record]));
  const views = records
    .filter(
      ({ record }) =>
        (!filter.status || record.status === filter.status) && (!filter.capability || record.capabilities.includes(filter.capability)),
    )
    .map(({ key, record }) => toView(record, liveByKey.get(key)));
  return keysetPage(views, (a) => [a.name], filter);
}

export interface StuckInput {
  jobId?: string | undefined;
  reason: string;
}

/**
 * Records that an agent is stuck and publishes `coordination.agent.stuck` (operations turns it
 * into an escalation). A job the agent holds is released to another agent after the grace period
 * unless the agent finishes it first; a job it does not hold is recorded but not touched.
 */
export async function reportStuck(
  deps: CoordinationDeps,
  name: string,
  input: StuckInput,
): Promise<{ agent: AgentView; releaseAt: string | null }> {
  await findAgent(deps, name);
  const now = deps.clock();
  const reportedAt = now.toISOString();
  let releaseAt: string | null = null;
  if (input.jobId) {
    const job = (await deps.stores.jobs.get(input.jobId))?.record;
    if (!job) throw notFound('job', input.jobId);
    const lease = await deps.stores.leases.get(leaseKey(name, input.jobId));
    if (job.status === 'running' && job.agent === name && lease) {
      const at = new Date(now.getTime() + deps.settings.stuckGraceMs).toISOString();
      try {
        await deps.stores.leases.update(leaseKey(name, input.jobId), { ...lease.record, releaseAt: at }, lease.revision);
        releaseAt = at;
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err; // the job ended meanwhile: nothing to release
      }
    }
  }
  const key = agentKey(name);
  const jobId = input.jobId ?? null;
  const { record, revision } = await mutateRecord(
    deps,
    deps.stores.agents,
    'agent',
    key,
    (current) => ({
      ...current,
      updatedAt: reportedAt,
      stuckCount: current.stuckCount + 1,
      lastStuck: { reason: input.reason, jobId, at: reportedAt },
      outbox: [...current.outbox, agentStuckEvent(deps, name, jobId, input.reason, reportedAt)],
    }),
    { premark: true },
  );
  deps.caches.agents.remember(key, record, revision);
  deps.log.warn({ agent: name, jobId, reason: input.reason, releaseAt }, 'agent reported stuck');
  return { agent: toView(record, deps.caches.liveness.get(key)?.record), releaseAt };
}

/** Counts a failed job against its agent (best effort: the job's own transition already happened). */
export async function countAgentError(deps: CoordinationDeps, name: string): Promise<void> {
  try {
    await mutateRecord(deps, deps.stores.agents, 'agent', agentKey(name), (current) => ({
      ...current,
      errorCount: current.errorCount + 1,
    }));
  } catch (err) {
    deps.log.warn({ agent: name, err: err instanceof Error ? err.message : String(err) }, 'could not count the agent error');
  }
}
