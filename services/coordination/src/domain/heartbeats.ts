import { AgentHeartbeat, HEARTBEAT_SUBJECT_PREFIX, type Principal } from '@platform/contracts';
import { DomainError, pullBatch, type JsMsg } from '@platform/kit';
import { agentKey } from '../store/agent-record.js';
import { HEARTBEATS_CONSUMER, HEARTBEATS_STREAM } from '../store/streams.js';
import { recordHeartbeat } from './agents.js';
import type { CoordinationDeps } from './deps.js';

/** Checks a bearer header (`Bearer <jwt>`); null when there is none, throws when it is invalid. */
export type VerifyToken = (header: string) => Promise<Principal | null>;

const BATCH = 1_000;

export interface AbsorbCounts {
  recorded: number;
  /** Malformed, wrongly signed, for another agent, for an unknown agent, too old, or superseded. */
  dropped: number;
}

/**
 * Takes the agents' heartbeats that arrived over NATS since the last call and records each as a
 * ping would. Why NATS: a ping over HTTP costs the service one request and one KV acknowledgement
 * per agent per interval, and on a small machine every such wake-up is a fixed cost; here the
 * replicas pull what arrived in batches (one durable, so each heartbeat is taken by one replica),
 * and the KV puts go out together, so 1,000 agents cost a few wake-ups per tick. The token in a
 * heartbeat must be the agent's own (the same check as the tRPC route); a heartbeat older than an
 * interval (the service was down meanwhile) proves nothing about now and is dropped, and so is
 * one older than what the agent said since (see below).
 */
export async function absorbHeartbeats(deps: CoordinationDeps, verify: VerifyToken): Promise<AbsorbCounts> {
  const counts: AbsorbCounts = { recorded: 0, dropped: 0 };
  for (;;) {
    const batch = await pullBatch(deps.js, HEARTBEATS_STREAM, HEARTBEATS_CONSUMER, BATCH);
    const outcomes = await Promise.all(batch.map((m) => absorb(deps, verify, m)));
    for (const ok of outcomes) counts[ok ? 'recorded' : 'dropped']++;
    if (batch.length < BATCH) return counts;
  }
}

async function absorb(deps: CoordinationDeps, verify: VerifyToken, m: JsMsg): Promise<boolean> {
  const key = m.subject.slice(HEARTBEAT_SUBJECT_PREFIX.length + 1);
  const drop = (why: string) => {
    deps.log.debug({ subject: m.subject, why }, 'heartbeat dropped');
    return false;
  };
  // When the stream stored it: what the heartbeat proves is that the agent was alive then.
  const sentAt = new Date(Math.floor(m.info.timestampNanos / 1e6));
  if (Date.now() - sentAt.getTime() > deps.settings.heartbeatIntervalMs) return drop('older than an interval');
  let heartbeat: AgentHeartbeat;
  try {
    heartbeat = AgentHeartbeat.parse(JSON.parse(m.string()));
  } catch {
    return drop('not a valid heartbeat');
  }
  let principal: Principal | null;
  try {
    principal = await verify(`Bearer ${heartbeat.token}`);
  } catch {
    return drop('invalid token');
  }
  if (principal?.kind !== 'agent' || agentKey(principal.id) !== key) return drop('token is not this agent’s');
  // Taken up to a tick late: a registration or tRPC ping since then is newer and must not be
  // overwritten (after a restart, the old process's last heartbeat would name the old session).
  const known = deps.caches.liveness.get(key)?.record.lastPingAt;
  if (known && known >= sentAt.toISOString()) return drop('superseded by a newer heartbeat');
  try {
    const { token: _token, ...ping } = heartbeat;
    await recordHeartbeat(deps, principal.id, { ...ping, session: ping.session ?? undefined, claimsSettled: ping.claimsSettled ?? undefined, load: ping.load ?? undefined }, sentAt);
    return true;
  } catch (err) {
    // An unknown agent must register first (its SDK does so when a tRPC ping says NOT_FOUND): not
    // worth a warning per heartbeat. A failed KV put is; the next heartbeat tries again.
    if (err instanceof DomainError && err.code === 'NOT_FOUND') return drop('agent not registered');
    deps.log.warn({ agent: principal.id, err: err instanceof Error ? err.message : String(err) }, 'heartbeat not recorded');
    return false;
  }
}
