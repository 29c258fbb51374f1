import { z } from 'zod';
import { JobId } from './ids.js';

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
export const heartbeatSubject = (agentName: string): string => `${HEARTBEAT_SUBJECT_PREFIX}.${agentKey(agentName)}`;

export const AgentHeartbeat = z.strictObject({
  /** The agent's bearer token (the one it uses for tRPC): the service checks it names this agent. */
  token: z.string().min(1).max(8_192),
  runningJobIds: z.array(JobId).max(1_000),
  load: z.number().min(0).nullable(),
  /** The agent process (SDK session) and how far its claims have settled (see the SDK). */
  session: z.string().min(1).max(200).nullable(),
  claimsSettled: z.number().int().min(0).nullable(),
});
export type AgentHeartbeat = z.infer<typeof AgentHeartbeat>;
