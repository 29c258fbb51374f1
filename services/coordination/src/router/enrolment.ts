import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import { createEnrolment, exchangeEnrolment, refreshAgentToken, type EnrolmentDeps } from '../domain/enrolment.js';
import { agentProcedure, authedProcedure, publicProcedure, router } from '../trpc.js';
import { AgentName } from './wire.js';

const meta = openApiMeta('enrolment');
const AgentToken = z.object({ token: z.string(), agentName: z.string(), expiresAt: z.iso.datetime() });

export function enrolmentRouter(deps: EnrolmentDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/enrolment/create', 'Operator or service: enrol an agent by name; answers a one-time enrolment token'))
      .input(
        z.strictObject({
          agentName: AgentName,
          ttlSeconds: z
            .number()
            .int()
            .min(60)
            .max(7 * 24 * 3600)
            .default(3600),
        }),
      )
      .output(z.object({ enrolmentToken: z.string(), agentName: z.string(), expiresAt: z.iso.datetime() }))
      .mutation(({ ctx, input }) => createEnrolment(deps, ctx.principal, input)),
    exchange: publicProcedure
      .meta(
        meta('POST', '/enrolment/exchange', 'Agent: trade a one-time enrolment token for a short-lived agent token', { protect: false }),
      )
      .input(z.strictObject({ enrolmentToken: z.string().min(10).max(200) }))
      .output(AgentToken)
      .mutation(({ input }) => exchangeEnrolment(deps, input.enrolmentToken)),
    refresh: agentProcedure
      .meta(meta('POST', '/enrolment/refresh', 'Agent: a fresh token for itself, while its current one is valid'))
      .input(z.strictObject({}).optional())
      .output(AgentToken)
      .mutation(({ ctx }) => refreshAgentToken(deps, ctx.principal)),
  });
}
