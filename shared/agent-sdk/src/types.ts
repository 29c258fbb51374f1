import type { CoordinationRouter } from '@platform/coordination/router';
import type { Logger, NatsConnection, NatsSettings } from '@platform/kit';
import type { JobType } from '@platform/contracts';
import type { TRPCClient } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { HeartbeatOptions } from './heartbeats.js';

/*
 * The SDK's public shapes: what startAgent takes, what a handler gets and what a running agent
 * answers. The modules that implement it (registration, claims, slot, report, stop) share only these.
 */

type Outputs = inferRouterOutputs<CoordinationRouter>;
export type Job = NonNullable<Outputs['jobs']['claim']['job']>;
export type AgentCard = NonNullable<inferRouterInputs<CoordinationRouter>['agents']['register']['card']>;
export type AgentInfo = Outputs['agents']['get'];
/** The typed tRPC client of coordination the agent talks through. */
export type CoordinationClient = TRPCClient<CoordinationRouter>;

/** Why a job's signal was aborted. */
export type AbortReason = 'cancelled' | 'lost' | 'shutdown';

/**
 * What a handler gets besides the job. Delivery is at least once: a job whose agent died runs
 * again elsewhere, so handlers key their side effects on `jobId` (and may look at `attempt`).
 */
export interface JobContext {
  jobId: string;
  attempt: number;
  log: Logger;
  /** Aborted when the job is cancelled, taken away (the agent was offline or stuck too long), or released at shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  /** Reports progress; answers false (and aborts `signal`) when the job should stop. */
  progress(fraction?: number, message?: string): Promise<boolean>;
  /** Asks for help: publishes coordination.agent.stuck; the job is released to another agent after the service's grace period. */
  reportStuck(reason: string): Promise<{ releaseAt: string | null }>;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<unknown>;

export interface AgentOptions {
  coordinationUrl: string;
  /** The agent's name: the subject of its token. */
  name: string;
  version?: string;
  /** Optional A2A agent card (name, description, url, skills) for discovery. */
  card?: AgentCard;
  /** Returns the agent's bearer token (kind `agent`, sub = name). */
  getToken: () => Promise<string>;
  /** The job types this agent does, each with its handler. */
  capabilities: Partial<Record<JobType, JobHandler>>;
  /** Jobs run at once (each slot long-polls for its next job). */
  concurrency?: number;
  claimWaitMs?: number;
  /** On stop, how long in-flight jobs may run before they are released back to the queue. */
  drainTimeoutMs?: number;
  /** Attempts to register before startAgent fails (coordination may still be starting). */
  registerAttempts?: number;
  /**
   * NATS for heartbeats (a connection, or where to connect): an idle agent's heartbeats then go
   * over NATS instead of tRPC (see heartbeats.ts). The NATS user needs to publish only to
   * `agents.heartbeat.>` (and receive its publish acknowledgements on `_INBOX.>`).
   */
  nats?: NatsConnection | NatsSettings;
  /** Measurement hook for each heartbeat (benchmarks). */
  onHeartbeat?: HeartbeatOptions['onBeat'];
  log: Logger;
}

export interface StopResult {
  /** Jobs that finished (and were reported) during the drain. */
  finished: number;
  /** Jobs handed back to the queue because the drain timed out. */
  released: number;
}

export interface RunningAgent {
  readonly name: string;
  /** Jobs completed or failed by this process so far. */
  readonly processed: number;
  readonly inFlight: number;
  readonly heartbeatIntervalMs: number;
  /** Reports the agent stuck outside any job (the service records it and escalates). */
  reportStuck(reason: string, jobId?: string): Promise<{ releaseAt: string | null }>;
  /** Stops taking jobs, lets in-flight ones finish for up to drainTimeoutMs, releases the rest, stops heartbeats. */
  stop(opts?: { drainTimeoutMs?: number }): Promise<StopResult>;
}

/** What a handler's run comes to: reported as jobs.complete or jobs.fail. */
export type Outcome = { ok: true; result: unknown } | { ok: false; error: string };
