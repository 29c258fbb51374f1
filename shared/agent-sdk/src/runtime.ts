import type { JobType } from '@platform/contracts';
import type { Logger } from '@platform/kit';
import type { Claims } from './claims.js';
import type { InFlightJobs } from './in-flight.js';
import type { AgentOptions, CoordinationClient } from './types.js';

/**
 * What the parts of a running agent share (startAgent builds it once): the client, what the agent
 * does, the jobs it holds, its claims, whether it is stopping, and its counters.
 */
export interface AgentRuntime {
  name: string;
  client: CoordinationClient;
  handlers: AgentOptions['capabilities'];
  capabilities: JobType[];
  claimWaitMs: number;
  log: Logger;
  inFlight: InFlightJobs;
  claims: Claims;
  /** Aborted by stop(): slots take no new jobs, and a job that arrives anyway is handed back. */
  stopping: AbortSignal;
  counts: {
    /** Jobs completed or failed (and reported) by this process. */
    processed: number;
    /** Jobs handed back because they arrived while stopping. */
    releasedWhileStopping: number;
  };
}
