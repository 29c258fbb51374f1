import { z } from 'zod';
import { IsoDateTime, JobId, PrincipalId } from '../ids.js';
import { JobStatus, JobTargetKind, JobType } from '../jobs.js';
import { PrincipalKind } from '../principal.js';

/** Who a job belongs to (the principal that triggered it, or its schedule's owner). */
export const JobOwner = z.object({ kind: PrincipalKind, id: PrincipalId });
export type JobOwner = z.infer<typeof JobOwner>;

export const JobEvent = z.object({
  jobId: JobId,
  jobType: JobType,
  status: JobStatus,
  targetKind: JobTargetKind,
  targetId: z.string().max(200).nullable(),
  attempt: z.number().int().min(0),
  agent: z.string().nullable(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  /**
   * The job's owner: a consumer that acts on the job's target (operations applying a result to a
   * task) acts as this principal, never as itself. Absent in events written before jobs had owners;
   * such events are not applied to anything.
   */
  owner: JobOwner.optional(),
  /**
   * How many transitions the job has had (its history's length): orders the events of one job.
   * Absent in events written before it existed.
   */
  version: z.number().int().min(1).optional(),
});

/** An agent's liveness as coordination sees it: `stale` after 2 missed heartbeats, `offline` after the TTL. */
export const AgentStatus = z.enum(['online', 'stale', 'offline']);
export type AgentStatus = z.infer<typeof AgentStatus>;

/** Agent names are principal ids (the `sub` of the agent's token). */
export const AgentName = PrincipalId;

/** `coordination.agent.online` / `.stale` / `.offline`: a liveness change. */
export const AgentStatusEvent = z.object({
  agent: AgentName,
  status: AgentStatus,
  lastPingAt: IsoDateTime,
});

/** `coordination.agent.stuck`: an agent asked for help; operations escalates it (ApprovalRequest). */
export const AgentStuckEvent = z.object({
  agent: AgentName,
  jobId: JobId.nullable(),
  reason: z.string().min(1).max(5_000),
  reportedAt: IsoDateTime,
});

/** Subjects the coordination service publishes (stream COORDINATION_EVENTS, `coordination.>`). */
export const coordinationEvents = {
  'coordination.job.queued': JobEvent,
  'coordination.job.started': JobEvent,
  'coordination.job.succeeded': JobEvent,
  'coordination.job.failed': JobEvent,
  'coordination.job.cancelled': JobEvent,
  'coordination.job.dead': JobEvent,
  'coordination.agent.online': AgentStatusEvent,
  'coordination.agent.stale': AgentStatusEvent,
  'coordination.agent.offline': AgentStatusEvent,
  'coordination.agent.stuck': AgentStuckEvent,
} as const;
