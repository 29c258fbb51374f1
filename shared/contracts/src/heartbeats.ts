import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { JobId, PrincipalId } from './ids.js';

const SAFE_KEY = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * An agent's name as one NATS subject token and KV key: the name itself when it is safe, else
 * `=` + base64url of the name (a safe name never starts with `=`, so the mapping is one-to-one).
 * Agent names are token subjects and may hold characters keys and subjects cannot.
 */
export const agentKey = (name: string): string => (SAFE_KEY.test(name) ? name : `=${Buffer.from(name, 'utf8').toString('base64url')}`);

/**
 * Heartbeats over NATS: an agent publishes to `agents.heartbeat.<agentKey>` (JetStream stream
 * AGENT_HEARTBEATS, latest per agent), and coordination takes them in batches. The tRPC
 * `agents.ping` is the other way to send one, and the one that answers (cancellations).
 */
export const HEARTBEAT_SUBJECT_PREFIX = 'agents.heartbeat';
/** The JetStream stream coordination keeps heartbeats in (latest per agent), and its one durable shared by the replicas. */
export const HEARTBEATS_STREAM = 'AGENT_HEARTBEATS';
export const HEARTBEATS_CONSUMER = 'coordination';
export const heartbeatSubject = (agentName: string): string => `${HEARTBEAT_SUBJECT_PREFIX}.${agentKey(agentName)}`;

/** 32 random bytes, base64url without padding (43 characters). */
const Base64Url32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

/**
 * The per-agent secret that signs its NATS heartbeats. `agents.register` issues a fresh one to
 * the agent (and only to it) at every registration, so a restarted agent's old process stops
 * being believed. It signs heartbeats and nothing else: unlike a bearer token, a heartbeat that
 * leaks (a stream is readable by more than its reader) cannot be replayed as the agent elsewhere.
 */
export const HeartbeatKey = Base64Url32.describe('Heartbeat signing key: 32 random bytes, base64url');

/**
 * A heartbeat over NATS, version 2: signed with the agent's heartbeat key (HMAC-SHA256 over
 * heartbeatSigningBytes), no bearer token. Version 1 carried the agent's token instead; it is
 * refused. `sentAt` is the agent's clock (signed, so a heartbeat is never the same bytes twice);
 * coordination judges freshness by the stream's timestamp, not by it.
 */
export const AgentHeartbeat = z.strictObject({
  v: z.literal(2),
  /** The agent's name (its token's subject); the subject's agentKey must be this name's. */
  agent: PrincipalId,
  sentAt: z.iso.datetime(),
  runningJobIds: z.array(JobId).max(1_000),
  load: z.number().min(0).nullable(),
  /** The agent process (SDK session) and how far its claims have settled (see the SDK). */
  session: z.string().min(1).max(200).nullable(),
  claimsSettled: z.number().int().min(0).nullable(),
  /** HMAC-SHA256(heartbeat key, heartbeatSigningBytes(everything else)), base64url. */
  mac: Base64Url32,
});
export type AgentHeartbeat = z.infer<typeof AgentHeartbeat>;
export type UnsignedHeartbeat = Omit<AgentHeartbeat, 'mac'>;

/**
 * The bytes a heartbeat's MAC covers: every field but `mac`, in a fixed order, as a JSON array
 * (JSON of an object would depend on key order, which a sender or a parser may change). The one
 * definition both the SDK (signing) and coordination (verifying) use.
 */
export function heartbeatSigningBytes(h: UnsignedHeartbeat): Buffer {
  return Buffer.from(
    JSON.stringify(['agents.heartbeat', h.v, h.agent, h.sentAt, h.runningJobIds, h.load, h.session, h.claimsSettled]),
    'utf8',
  );
}

/** HMAC-SHA256 of a heartbeat with `key` (a HeartbeatKey), base64url: what its `mac` must be. */
export function heartbeatMac(key: string, h: UnsignedHeartbeat): string {
  return createHmac('sha256', Buffer.from(key, 'base64url')).update(heartbeatSigningBytes(h)).digest('base64url');
}

/** A signed heartbeat, ready to publish. */
export const signHeartbeat = (key: string, h: UnsignedHeartbeat): AgentHeartbeat => ({ ...h, mac: heartbeatMac(key, h) });
