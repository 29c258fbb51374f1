import { openApiMeta } from '@platform/kit';
import { AgentStatus, HeartbeatKey, JobId, JobType } from '@platform/contracts';
import { z } from 'zod';
import { assertActsFor, getAgent, listAgents, pingAgent, registerAgent, reportStuck } from '../domain/agents.js';
import type { CoordinationDeps } from '../domain/deps.js';
import { AgentCard } from '../store/agent-record.js';
import { agentProcedure, authedProcedure, router } from '../trpc.js';
import { agentChangesProcedure } from './live.js';
import { Agent, AgentName, Session } from './wire.js';

const meta = openApiMeta('agents');
const RunningJobIds = z.array(JobId).max(256);

/** Agents register and ping as themselves: `name` must be the token's subject. */
function self(principalId: string, name: string): string {
  assertActsFor({ kind: 'agent', id: principalId, roles: [] }, name);
  return name;
}

export function agentsRouter(deps: CoordinationDeps) {
  return router({
    register: agentProcedure
      .meta(meta('POST', '/agents/register', 'Agent: register (idempotent by name) with capabilities and an optional A2A agent card'))
      .input(
        z.strictObject({
          name: AgentName,
          version: z.string().min(1).max(100),
          capabilities: z.array(JobType).min(1).max(20),
          card: AgentCard.optional(),
          runningJobIds: RunningJobIds.optional(),
          session: Session.optional(),
        }),
      )
      .output(
        z.object({
          agent: Agent,
          /** Signs this process's heartbeats over NATS (HMAC-SHA256, see AgentHeartbeat); replaced by the next registration, shown nowhere else. */
          heartbeatKey: HeartbeatKey,
          heartbeatIntervalMs: z.number().int(),
          staleAfterMs: z.number().int(),
          offlineAfterMs: z.number().int(),
        }),
      )
      .mutation(({ ctx, input }) => registerAgent(deps, self(ctx.agent, input.name), input)),
    ping: agentProcedure
      .meta(meta('POST', '/agents/ping', 'Agent: heartbeat; answers which of its jobs were cancelled or lost'))
      .input(
        z.strictObject({
          name: AgentName,
          currentJobId: JobId.optional(),
          runningJobIds: RunningJobIds.optional(),
          load: z.number().min(0).max(1_000).optional(),
          /** With `session`: every claim numbered up to this one has been answered (or failed). */
          session: Session.optional(),
          claimsSettled: z.number().int().min(0).optional(),
        }),
      )
      .output(
        z.object({
          status: AgentStatus,
          heartbeatIntervalMs: z.number().int(),
          cancelledJobIds: z.array(z.string()),
          lostJobIds: z.array(z.string()),
          /** The heartbeat recorded before this ping (null: none): lets an agent check its heartbeats over NATS arrive. */
          previousHeartbeatAt: z.string().nullable(),
        }),
      )
      .mutation(({ ctx, input }) => pingAgent(deps, self(ctx.agent, input.name), input)),
    list: authedProcedure
      .meta(meta('GET', '/agents/list', 'List agents by name, by status or capability, a page at a time (limit: default 100, max 500)'))
      .input(
        z.strictObject({
          status: AgentStatus.optional(),
          capability: JobType.optional(),
          cursor: z.string().min(1).max(500).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      )
      .output(z.object({ agents: z.array(Agent), nextCursor: z.string().nullable() }))
      .query(async ({ input }) => {
        const page = await listAgents(deps, input);
        return { agents: page.items, nextCursor: page.nextCursor };
      }),
    get: authedProcedure
      .meta(meta('GET', '/agents/get', 'Get an agent: status, last ping, current job, error count, capabilities'))
      .input(z.strictObject({ name: AgentName }))
      .output(Agent)
      .query(({ input }) => getAgent(deps, input.name)),
    reportStuck: authedProcedure
      .meta(
        meta(
          'POST',
          '/agents/report-stuck',
          'Report an agent stuck: publishes coordination.agent.stuck and releases its job after the grace period',
        ),
      )
      .input(z.strictObject({ name: AgentName, jobId: JobId.optional(), reason: z.string().min(1).max(5_000) }))
      .output(z.object({ agent: Agent, releaseAt: z.string().nullable() }))
      .mutation(({ ctx, input }) => {
        assertActsFor(ctx.principal, input.name);
        return reportStuck(deps, input.name, input);
      }),
    onChange: agentChangesProcedure(deps),
  });
}
