import type { Principal } from '@platform/contracts';
import { notFound } from '@platform/kit';
import { z } from 'zod';
import {
  findAgent,
  insertAgent,
  listAgents as listAgentRows,
  updateAgent as updateAgentRow,
  type AgentRow,
  type AgentStatusName,
} from '../store/agents.js';
import type { Page } from '../store/pagination.js';
import { asUser } from '../store/scope.js';
import { requireAdmin } from './access.js';
import type { CoreDeps } from './deps.js';

/** An agent's configuration: validated before it is stored as JSON (unknown keys are refused). */
export const AgentConfig = z.strictObject({
  model: z.string().min(1).max(200),
  temperature: z.number().min(0).max(2).default(0.2),
  maxTokens: z.number().int().min(1).max(1_000_000).default(4_096),
  systemPrompt: z.string().max(50_000).optional(),
  tools: z.array(z.string().min(1).max(100)).max(100).default([]),
  /** Job types (coordination) this agent takes. */
  jobTypes: z.array(z.string().min(1).max(100)).max(50).default([]),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

/** Registers an agent (platform admins). Its name is the principal id of its token; a taken name is a CONFLICT. */
export function createAgent(
  deps: CoreDeps,
  principal: Principal,
  input: { name: string; config: AgentConfig; description?: string | undefined },
): Promise<AgentRow> {
  requireAdmin(principal, 'registering an agent');
  return asUser(deps.db, principal, (s) => insertAgent(s, input), { write: true });
}

export function getAgent(deps: CoreDeps, principal: Principal, where: { id: string } | { name: string }): Promise<AgentRow> {
  return asUser(deps.db, principal, async (s) => {
    const agent = await findAgent(s, where);
    if (!agent) throw notFound('agent', 'id' in where ? where.id : where.name);
    return agent;
  });
}

export function listAgents(
  deps: CoreDeps,
  principal: Principal,
  q: { status?: AgentStatusName | undefined; namePrefix?: string | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<AgentRow>> {
  return asUser(deps.db, principal, (s) => listAgentRows(s, q));
}

export function updateAgent(
  deps: CoreDeps,
  principal: Principal,
  input: { id: string; status?: AgentStatusName | undefined; config?: AgentConfig | undefined; description?: string | undefined },
): Promise<AgentRow> {
  requireAdmin(principal, 'changing an agent');
  return asUser(
    deps.db,
    principal,
    async (s) => {
      if (!(await findAgent(s, { id: input.id }))) throw notFound('agent', input.id);
      return updateAgentRow(s, input.id, input);
    },
    { write: true },
  );
}
