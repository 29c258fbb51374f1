/**
 * Where the platform's messages live in NATS: stream, durable consumer and KV bucket names. One place,
 * read by the services that create them, by the NATS permissions (nats-permissions.ts) that grant them,
 * and by outside subscribers (@platform/client re-exports the event streams).
 */

import type { JobPriority, JobType } from './jobs.js';

export type ServiceName = 'knowledge' | 'operations' | 'coordination';
export const SERVICE_NAMES: readonly ServiceName[] = ['knowledge', 'operations', 'coordination'];

/**
 * The JetStream stream each service publishes its events to; it takes the subjects `<service>.>`.
 * Only that service may publish there, so an envelope whose `source` names another service did not
 * come from the platform.
 */
export const EVENT_STREAMS = {
  knowledge: 'KNOWLEDGE_EVENTS',
  operations: 'OPERATIONS_EVENTS',
  coordination: 'COORDINATION_EVENTS',
} as const satisfies Record<ServiceName, string>;
export type EventStreamName = (typeof EVENT_STREAMS)[ServiceName];

/** The other way round: event stream → the service that owns it. */
export const EVENT_STREAM_OWNERS: Readonly<Record<string, ServiceName>> = Object.freeze(
  Object.fromEntries(Object.entries(EVENT_STREAMS).map(([service, stream]) => [stream, service as ServiceName])),
);

/** Where consumers put messages that failed their last delivery (`deadletter.<durable>`), with the reason. */
export const DEAD_LETTER_STREAM = 'DEADLETTER';

/** Coordination's work queue: one subject per job type and priority. */
export const JOBS_STREAM = 'JOBS';
/** A work item's subject: one per job type and priority, so agents take only the types they can do. */
export const jobSubject = (jobType: JobType, priority: JobPriority): string => `jobs.queue.${jobType}.${priority}`;
export const isWorkItemSubject = (subject: string): boolean => subject.startsWith('jobs.queue.');
/** The durable consumer on JOBS for one job type and priority, shared by coordination's replicas. */
export const jobConsumer = (jobType: JobType, priority: JobPriority): string => `jobs-${jobType}-${priority}`;
/** Where a job that used up its attempts is kept, by type. */
export const deadLetterSubject = (jobType: JobType): string => `jobs.dead.${jobType}`;
/** Jobs that used up their attempts, with their history (coordination's own dead letters). */
export const JOBS_DEADLETTER_STREAM = 'JOBS_DEADLETTER';

/** Coordination's KV buckets. */
export const COORDINATION_BUCKETS = {
  /** Job records (with their outbox), key = job id. */
  jobs: 'jobs',
  /** Markers for job records that may still owe messages. */
  jobsOutbox: 'jobs_outbox',
  /** Agent registry records (with their outbox), key = agentKey(name). */
  agents: 'agents',
  agentsOutbox: 'agents_outbox',
  /** Heartbeats, key = agentKey(name); the bucket's TTL is the agent's offline TTL. */
  liveness: 'agent_liveness',
  /** Which agent holds which running job, key = `${agentKey}.${jobId}`. */
  leases: 'job_leases',
  /** Cron schedules, key = schedule id. */
  schedules: 'schedules',
  /** One-time agent enrolments, key = sha256 of the enrolment token; kept a week (longest enrolment). */
  enrolments: 'agent_enrolments',
  /** Each agent's heartbeat signing key, key = agentKey(name); replaced at every registration. */
  heartbeatKeys: 'agent_heartbeat_keys',
} as const;

/** Durable consumers a service keeps on another service's event stream. */
export const DURABLES = {
  /** knowledge's run recorder on operations' events (sagas, tasks). */
  knowledgeRunsOperations: 'knowledge-runs-operations',
  /** knowledge's run recorder on coordination's events (jobs). */
  knowledgeRunsCoordination: 'knowledge-runs-coordination',
  /** operations applies job results to the sagas and tasks waiting on them. */
  operationsJobResults: 'operations-job-results',
  /** operations opens approvals for agents that report being stuck. */
  operationsAgentStuck: 'operations-agent-stuck',
} as const;

/** Per service, the durables it keeps on other services' streams (and so the only ones NATS lets it create). */
export const FOREIGN_DURABLES: Readonly<Record<ServiceName, ReadonlyArray<{ stream: EventStreamName; durable: string }>>> = {
  knowledge: [
    { stream: EVENT_STREAMS.operations, durable: DURABLES.knowledgeRunsOperations },
    { stream: EVENT_STREAMS.coordination, durable: DURABLES.knowledgeRunsCoordination },
  ],
  operations: [
    { stream: EVENT_STREAMS.coordination, durable: DURABLES.operationsJobResults },
    { stream: EVENT_STREAMS.coordination, durable: DURABLES.operationsAgentStuck },
  ],
  coordination: [],
};
