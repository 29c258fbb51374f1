import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import { AgentConfig, createAgent, getAgent, listAgents, updateAgent } from '../domain/agents.js';
import type { CoreDeps } from '../domain/deps.js';
import type { AgentRow } from '../store/agents.js';
import { authedProcedure, router } from '../trpc.js';
import { Cursor, Id, iso, Limit, pageOf, toPage } from './wire.js';

const meta = openApiMeta('agents');

export const AgentStatus = z.enum(['active', 'paused', 'retired']);
export const Agent = z.object({
  id: z.uuid(),
  name: z.string(),
  status: AgentStatus,
  config: z.record(z.string(), z.unknown()),
  description: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const AgentName = z.string().trim().min(1).max(200);

const toAgent = (a: AgentRow): z.infer<typeof Agent> => ({
  ...a,
  config: a.config as Record<string, unknown>,
  createdAt: iso(a.createdAt),
  updatedAt: iso(a.updatedAt),
});

export function agentsRouter(deps: CoreDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/agents/create', 'Register an agent with a validated configuration (platform admins)'))
      .input(z.strictObject({ name: AgentName, config: AgentConfig, description: z.string().max(2_000).optional() }))
      .output(Agent)
      .mutation(async ({ ctx, input }) => toAgent(await createAgent(deps, ctx.principal, input))),
    get: authedProcedure
      .meta(meta('GET', '/agents/get', 'An agent by id or by name'))
      .input(
        z
          .strictObject({ id: Id.optional(), name: AgentName.optional() })
          .refine((v) => (v.id === undefined) !== (v.name === undefined), 'give exactly one of id or name'),
      )
      .output(Agent)
      .query(async ({ ctx, input }) =>
        toAgent(await getAgent(deps, ctx.principal, input.id !== undefined ? { id: input.id } : { name: input.name! })),
      ),
    list: authedProcedure
      .meta(meta('GET', '/agents/list', 'Registered agents by name, a page at a time; `namePrefix` keeps those whose name starts with it'))
      .input(
        z.strictObject({ status: AgentStatus.optional(), namePrefix: z.string().min(1).max(200).optional(), cursor: Cursor, limit: Limit }),
      )
      .output(pageOf(Agent))
      .query(async ({ ctx, input }) => toPage(await listAgents(deps, ctx.principal, input), toAgent)),
    update: authedProcedure
      .meta(meta('POST', '/agents/update', 'Change an agent’s status, configuration or description (platform admins)'))
      .input(
        z.strictObject({
          id: Id,
          status: AgentStatus.optional(),
          config: AgentConfig.optional(),
          description: z.string().max(2_000).optional(),
        }),
      )
      .output(Agent)
      .mutation(async ({ ctx, input }) => toAgent(await updateAgent(deps, ctx.principal, input))),
  });
}
