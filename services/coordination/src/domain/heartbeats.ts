import { agentKey, AgentHeartbeat, HEARTBEAT_SUBJECT_PREFIX, heartbeatMac } from '@platform/contracts';
import { DomainError } from '@platform/kit';
import { timingSafeEqual } from 'node:crypto';
import { recordHeartbeat } from './agents.js';
import type { ArrivedHeartbeat, CoordinationDeps } from './deps.js';

const BATCH = 1_000;

/**
 * How far the agent's clock (`sentAt`) may be from the stream's when it stored the heartbeat.
 * Freshness is the stream's timestamp; this only bounds how long a copy of a signed heartbeat
 * could be published again and still be believed. Generous: hosts' clocks drift.
 */
export const HEARTBEAT_CLOCK_SKEW_MS = 30_000;

export interface AbsorbCounts {
  recorded: number;
  /** Malformed, version 1, wrongly signed, for another agent, for an unknown agent, too old, or superseded. */
  dropped: number;
}

/**
 * Takes the agents' heartbeats that arrived over NATS since the last call and records each as a
 * ping would. Why NATS: a ping over HTTP costs the service one request and one KV acknowledgement
 * per agent per interval, and on a small machine every such wake-up is a fixed cost; here the
 * replicas pull what arrived in batches (one durable, so each heartbeat is taken by one replica),
 * and the KV puts go out together, so 1,000 agents cost a few wake-ups per tick.
 *
 * A heartbeat carries no bearer token: it is signed with the key agents.register gave the agent
 * (HMAC-SHA256, checked against the in-memory mirror of `agent_heartbeat_keys`, no KV round trip),
 * and must be for the agent its subject names. A heartbeat older than an interval (the service was
 * down meanwhile) proves nothing about now and is dropped, and so is one older than what the agent
 * said since, or one signed by a process whose registration was replaced (its key was).
 */
export async function absorbHeartbeats(deps: CoordinationDeps): Promise<AbsorbCounts> {
  const counts: AbsorbCounts = { recorded: 0, dropped: 0 };
  for (;;) {
    const batch = await deps.heartbeats.take(BATCH);
    const outcomes = await Promise.all(batch.map((m) => absorb(deps, m)));
    for (const ok of outcomes) counts[ok ? 'recorded' : 'dropped']++;
    if (batch.length < BATCH) return counts;
  }
}

/** The message as a signed heartbeat, or why it is not one. */
function parse(body: string): AgentHeartbeat | string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'not JSON';
  }
  // Version 1 carried the agent's bearer token; a token must not travel in a message any more.
  if (typeof json === 'object' && json !== null && ('token' in json || !('v' in json)))
    return 'version 1 heartbeat (bearer token): no longer accepted';
  const parsed = AgentHeartbeat.safeParse(json);
  return parsed.success ? parsed.data : 'not a valid heartbeat';
}

/** Whether `mac` is the heartbeat's MAC under `key`, compared in constant time. */
function signedWith(key: string, heartbeat: AgentHeartbeat): boolean {
  const { mac, ...unsigned } = heartbeat;
  const expected = Buffer.from(heartbeatMac(key, unsigned), 'base64url');
  const given = Buffer.from(mac, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function absorb(deps: CoordinationDeps, m: ArrivedHeartbeat): Promise<boolean> {
  const key = m.subject.slice(HEARTBEAT_SUBJECT_PREFIX.length + 1);
  const drop = (why: string) => {
    deps.log.debug({ subject: m.subject, why }, 'heartbeat dropped');
    return false;
  };
  // When the stream stored it: what the heartbeat proves is that the agent was alive then.
  const { storedAt } = m;
  const sentAt = new Date(storedAt);
  if (Date.now() - storedAt > deps.settings.heartbeatIntervalMs) return drop('older than an interval');
  const heartbeat = parse(m.body);
  if (typeof heartbeat === 'string') return drop(heartbeat);
  if (agentKey(heartbeat.agent) !== key) return drop('subject is not this agent’s');
  const issued = deps.caches.heartbeatKeys.get(key)?.record;
  if (!issued) return drop('no heartbeat key: agent not registered');
  if (!signedWith(issued.key, heartbeat)) return drop('not signed with the agent’s current heartbeat key');
  if (issued.session !== null && heartbeat.session !== issued.session) return drop('not the session the key was issued to');
  const agentClock = Date.parse(heartbeat.sentAt);
  if (
    storedAt - agentClock > deps.settings.heartbeatIntervalMs + HEARTBEAT_CLOCK_SKEW_MS ||
    agentClock - storedAt > HEARTBEAT_CLOCK_SKEW_MS
  )
    return drop('sent at a time far from when it arrived (a copy published again?)');
  // Taken up to a tick late: a registration or tRPC ping since then is newer and must not be
  // overwritten (after a restart, the old process's last heartbeat would name the old session).
  const known = deps.caches.liveness.get(key)?.record.lastPingAt;
  if (known && known >= sentAt.toISOString()) return drop('superseded by a newer heartbeat');
  try {
    const { runningJobIds, load, session, claimsSettled } = heartbeat;
    await recordHeartbeat(
      deps,
      heartbeat.agent,
      { runningJobIds, load: load ?? undefined, session: session ?? undefined, claimsSettled: claimsSettled ?? undefined },
      sentAt,
    );
    return true;
  } catch (err) {
    // An unknown agent must register first (its SDK does so when a tRPC ping says NOT_FOUND): not
    // worth a warning per heartbeat. A failed KV put is; the next heartbeat tries again.
    if (err instanceof DomainError && err.code === 'NOT_FOUND') return drop('agent not registered');
    deps.log.warn({ agent: heartbeat.agent, err: err instanceof Error ? err.message : String(err) }, 'heartbeat not recorded');
    return false;
  }
}
