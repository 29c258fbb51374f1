import { agentKey, AgentStatus, IsoDateTime, JobId, JobType } from '@platform/contracts';
import { z } from 'zod';
import { PendingMessage } from './outbox-store.js';

/**
 * An A2A-style agent card (https://a2a-protocol.org: name, description, url = the agent's
 * endpoint, skills), so other tools can discover agents. Further A2A fields are kept as given.
 */
export const AgentCard = z
  .looseObject({
    name: z.string().min(1).max(200),
    description: z.string().max(5_000),
    url: z.url().max(2_000),
    version: z.string().max(100).optional(),
    skills: z
      .array(
        z.looseObject({
          id: z.string().min(1).max(200),
          name: z.string().min(1).max(200),
          description: z.string().max(5_000).optional(),
          tags: z.array(z.string().max(100)).max(50).optional(),
        }),
      )
      .max(100),
  })
  .refine((card) => JSON.stringify(card).length <= 32_000, { message: 'agent card is larger than 32 kB' });
export type AgentCard = z.infer<typeof AgentCard>;

export const StuckReport = z.object({ reason: z.string(), jobId: JobId.nullable(), at: IsoDateTime });

/** An agent in the registry (`agents` bucket). Liveness lives apart, in `agent_liveness`. */
export const AgentRecord = z.object({
  name: z.string(),
  version: z.string(),
  capabilities: z.array(JobType),
  card: AgentCard.nullable(),
  status: AgentStatus,
  registeredAt: z.string(),
  updatedAt: z.string(),
  statusChangedAt: z.string(),
  /** The last ping known when the record was last written (the liveness bucket has the latest). */
  lastPingAt: z.string(),
  errorCount: z.number().int().min(0),
  stuckCount: z.number().int().min(0),
  lastStuck: StuckReport.nullable(),
  outbox: z.array(PendingMessage),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

/** A heartbeat (`agent_liveness` bucket, expires after the offline TTL). */
export const Liveness = z.object({
  lastPingAt: z.string(),
  /** The jobs the agent says it runs; null when it did not say (then nothing is inferred from it). */
  runningJobIds: z.array(z.string()).nullable(),
  load: z.number().min(0).nullable(),
  /** The agent process (SDK session) that sent the heartbeat, and how far its claims have settled. */
  session: z.string().nullable().default(null),
  claimsSettled: z.number().int().nullable().default(null),
});
export type Liveness = z.infer<typeof Liveness>;

/** Which agent holds a running job (`job_leases` bucket); the sweeps requeue what lost agents held. */
export const Lease = z.object({
  jobId: JobId,
  agent: z.string(),
  claimedAt: z.string(),
  /** Set by a stuck report: the job goes back to the queue at this time unless finished first. */
  releaseAt: z.string().nullable(),
  /** The agent process and claim number that took the job (SDK agents), to recognise orphans exactly. */
  session: z.string().nullable().default(null),
  seq: z.number().int().nullable().default(null),
});
export type Lease = z.infer<typeof Lease>;

/** See agentKey in @platform/contracts (heartbeat subjects use the same mapping). */
export { agentKey };
export const leaseKey = (agent: string, jobId: string): string => `${agentKey(agent)}.${jobId}`;
