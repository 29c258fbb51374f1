import { JobId } from '@platform/contracts';
import { LastEventId, parseEventId } from '@platform/kit';
import { z } from 'zod';
import type { CoordinationDeps } from '../domain/deps.js';
import { agentRegistryStream, jobStatusStream } from '../domain/live.js';
import { authedProcedure } from '../trpc.js';

/**
 * Subscriptions (server-sent events; tRPC's httpSubscriptionLink): tRPC only, not on /api. Each
 * event is `tracked(id, data)`: a client that reconnects with the last id resumes after it
 * (domain/live.ts says what the ids are).
 */

/** jobs.onStatus: a job's status transitions, for whoever may read the job; ends after a final status. */
export const jobStatusProcedure = (deps: CoordinationDeps) =>
  authedProcedure
    .input(z.strictObject({ jobId: JobId, lastEventId: LastEventId.optional() }))
    .subscription(({ ctx, input, signal }) => jobStatusStream(deps, ctx.principal, input.jobId, parseEventId(input.lastEventId), signal));

/** agents.onChange: the agent registry, then its changes, for whoever may list agents. */
export const agentChangesProcedure = (deps: CoordinationDeps) =>
  authedProcedure
    .input(z.strictObject({ lastEventId: LastEventId.optional() }))
    .subscription(({ input, signal }) => agentRegistryStream(deps, parseEventId(input.lastEventId), signal));
