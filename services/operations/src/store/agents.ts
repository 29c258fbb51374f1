import type { Prisma } from '../generated/prisma/client.js';
import type { UserScope } from './scope.js';

export type AgentStatusName = 'active' | 'paused' | 'retired';

export interface AgentRow {
  id: string;
  name: string;
  status: AgentStatusName;
  config: Prisma.JsonValue;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export function insertAgent(s: UserScope, a: { name: string; config: Prisma.InputJsonValue; description?: string | undefined }): Promise<AgentRow> {
  return s.tx.agent.create({ data: { name: a.name, config: a.config, description: a.description ?? null } });
}

export function findAgent(s: UserScope, where: { id: string } | { name: string }): Promise<AgentRow | null> {
  return s.tx.agent.findUnique({ where });
}

export function listAgents(s: UserScope, status?: AgentStatusName): Promise<AgentRow[]> {
  return s.tx.agent.findMany({ where: status ? { status } : {}, orderBy: { name: 'asc' } });
}

export function updateAgent(
  s: UserScope,
  id: string,
  data: { status?: AgentStatusName | undefined; config?: Prisma.InputJsonValue | undefined; description?: string | undefined },
): Promise<AgentRow> {
  return s.tx.agent.update({
    where: { id },
    data: {
      ...(data.status ? { status: data.status } : {}),
      ...(data.config !== undefined ? { config: data.config } : {}),
      ...(data.description !== undefined ? { description: data.description } : {}),
    },
  });
}
