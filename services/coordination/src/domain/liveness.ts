import type { AgentStatus } from '@platform/contracts';
import { agentKey, type Lease, type Liveness } from '../store/agent-record.js';
import { setAgentStatus } from './agents.js';
import type { CoordinationDeps } from './deps.js';
import { requeueLostJob } from './jobs.js';

const ms = (iso: string) => Date.parse(iso);
const later = (a: string, b: string | undefined) => (b && b > a ? b : a);

/** The status a heartbeat of `ageMs` means. */
export function statusForAge(ageMs: number, settings: { staleAfterMs: number; offlineAfterMs: number }): AgentStatus {
  if (ageMs <= settings.staleAfterMs) return 'online';
  if (ageMs < settings.offlineAfterMs) return 'stale';
  return 'offline';
}

/**
 * Every replica runs this each LIVENESS_SWEEP_MS. From the mirrors it finds agents whose status
 * no longer matches their last heartbeat and moves them (compare-and-set, so one replica wins and
 * one event is published). Offline is confirmed on the server: the liveness key must be gone,
 * removed by the bucket's TTL, so the TTL — not this process's timers — decides it.
 */
export async function sweepAgentStatus(deps: CoordinationDeps): Promise<void> {
  const now = deps.clock().getTime();
  for (const [key, { record }] of deps.caches.agents.entries()) {
    const live = deps.caches.liveness.get(key)?.record;
    const lastPingAt = later(record.lastPingAt, live?.lastPingAt);
    const desired = statusForAge(now - ms(lastPingAt), deps.settings);
    if (desired === record.status) continue;
    try {
      if (desired === 'offline') {
        const onServer = await deps.stores.liveness.get(key);
        if (onServer) {
          // Our mirror was behind (a newer ping), or the server has not expired the key yet:
          // at most stale until the TTL removes it.
          deps.caches.liveness.remember(key, onServer.record, onServer.revision);
          const serverSays = statusForAge(now - ms(onServer.record.lastPingAt), deps.settings);
          const next = serverSays === 'offline' ? 'stale' : serverSays;
          if (next !== record.status) await setAgentStatus(deps, record.name, next, later(lastPingAt, onServer.record.lastPingAt));
          continue;
        }
        deps.caches.liveness.forget(key);
      }
      await setAgentStatus(deps, record.name, desired, lastPingAt);
    } catch (err) {
      deps.log.warn(
        { agent: record.name, desired, err: err instanceof Error ? err.message : String(err) },
        'agent status sweep failed; will retry',
      );
    }
  }
}

/**
 * Whether the agent's heartbeat proves it does not have the job — exactly, without timing
 * margins, for SDK agents that tag claims and heartbeats: a heartbeat (newer than the claim) from
 * another process of the agent (it restarted), or one sent after every claim up to this one had
 * settled that does not list the job (the claim's answer never arrived, or the agent dropped it).
 */
export function orphaned(lease: Lease, live: Liveness): string | null {
  if (!lease.session || !live.session || !live.runningJobIds) return null;
  if (live.session !== lease.session) {
    return ms(live.lastPingAt) > ms(lease.claimedAt) ? `agent ${lease.agent} restarted without the job` : null;
  }
  if (lease.seq !== null && live.claimsSettled !== null && live.claimsSettled >= lease.seq && !live.runningJobIds.includes(lease.jobId)) {
    return `agent ${lease.agent} no longer lists the job in its heartbeats`;
  }
  return null;
}

const LEASE_RECHECK_MS = 30_000;

/**
 * Every replica runs this after the status sweep (`leaseChecks`: when this replica last checked
 * each old lease against its job, for crash leftovers). A running job goes back to the queue when its
 * agent is offline, when a stuck report's grace period has passed, or when the agent's heartbeats
 * prove it does not have the job (see `orphaned`). Leases of jobs that ended are removed.
 */
export async function sweepLeases(deps: CoordinationDeps, leaseChecks: Map<string, number>): Promise<void> {
  const now = deps.clock().getTime();
  const { heartbeatIntervalMs, stuckGraceMs } = deps.settings;
  // Only live leases are in the bucket (they are removed without tombstones): one small scan.
  const leases = await deps.stores.leases.scan();
  const current = new Set(leases.map((l) => l.key));
  for (const key of leaseChecks.keys()) if (!current.has(key)) leaseChecks.delete(key);
  for (const { key, record: lease, revision } of leases) {
    const agentStateKey = agentKey(lease.agent);
    const agent = deps.caches.agents.get(agentStateKey)?.record;
    const live = deps.caches.liveness.get(agentStateKey)?.record;
    let reason: string | null = null;
    if (lease.releaseAt && ms(lease.releaseAt) <= now)
      reason = `agent ${lease.agent} reported stuck and did not finish within ${stuckGraceMs} ms`;
    else if (!agent || agent.status === 'offline') reason = `agent ${lease.agent} went offline`;
    else if (live) reason = orphaned(lease, live);
    try {
      if (reason) {
        await requeueLostJob(deps, lease.jobId, lease.agent, reason);
        leaseChecks.delete(key);
      } else if (now - ms(lease.claimedAt) > 2 * heartbeatIntervalMs && now - (leaseChecks.get(key) ?? 0) > LEASE_RECHECK_MS) {
        const firstCheck = !leaseChecks.has(key);
        leaseChecks.set(key, now);
        const job = (await deps.stores.jobs.get(lease.jobId))?.record;
        const holds = job?.status === 'running' && job.agent === lease.agent;
        // A lease covers the started and succeeded writes instead of an outbox marker (see
        // coveredByLease): what a crash left unsent goes out before the lease goes, and once, on
        // this replica's first look, for a job still running.
        if (job && (!holds || firstCheck)) await deps.outbox.flush(deps.stores.jobs, lease.jobId);
        if (!holds) {
          await deps.stores.leases.remove(key, revision);
          leaseChecks.delete(key);
        }
      }
    } catch (err) {
      deps.log.warn(
        { jobId: lease.jobId, agent: lease.agent, err: err instanceof Error ? err.message : String(err) },
        'lease sweep failed; will retry',
      );
    }
  }
}
