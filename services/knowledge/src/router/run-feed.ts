import { LastEventId, parseEventId } from '@platform/kit';
import { Uuid } from '@platform/contracts';
import { z } from 'zod';
import type { BlockDeps } from '../domain/blocks.js';
import { runChangeStream } from '../domain/run-feed.js';
import { authedProcedure } from '../trpc.js';

/**
 * runs.onChange — a subscription (server-sent events; tRPC's httpSubscriptionLink), tRPC only, not
 * on /api: the run's changes (as runs.replay lists them) after `lastEventId`, then live. Each event
 * is `tracked(seq, change)`; a client that reconnects with the last id resumes after it.
 */
export const runChangesProcedure = (deps: BlockDeps) =>
  authedProcedure
    .input(z.strictObject({ runId: Uuid, lastEventId: LastEventId.optional() }))
    .subscription(({ ctx, input, signal }) => runChangeStream(deps, ctx.principal, input.runId, parseEventId(input.lastEventId), signal));
