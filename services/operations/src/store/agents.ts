import type { Prisma } from '../generated/prisma/client.js';
import { badRequest } from '@platform/kit';
import type { Page } from './pagination.js';
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

export function insertAgent(
  s: UserScope,
  a: { name: string; config: Prisma.InputJsonValue; description?: string | undefined },
): Promise<AgentRow> {
  return s.tx.agent.create({ data: { name: a.name, config: a.config, description: a.description ?? null } });
}

export function findAgent(s: UserScope, where: { id: string } | { name: string }): Promise<AgentRow | null> {
  return s.tx.agent.findUnique({ where });
}

/** Prisma passes startsWith to LIKE as written: escape its wildcards (and the escape) so a prefix is literal. */
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/**
 * Agents by name, a page at a time: keyset on the (unique) name, so the cursor is the last name
 * answered (base64url JSON, opaque to callers); `limit + 1` rows are read to know if more follow.
 */
export async function listAgents(
  s: UserScope,
  q: { status?: AgentStatusName | undefined; namePrefix?: string | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<AgentRow>> {
  const after = q.cursor === undefined ? null : decodeNameCursor(q.cursor);
  const rows = await s.tx.agent.findMany({
    where: {
      ...(q.status ? { status: q.status } : {}),
      ...(after !== null || q.namePrefix !== undefined
        ? {
            name: {
              ...(after !== null ? { gt: after } : {}),
              ...(q.namePrefix !== undefined ? { startsWith: likeLiteral(q.namePrefix) } : {}),
            },
          }
        : {}),
    },
    orderBy: { name: 'asc' },
    take: q.limit + 1,
  });
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? Buffer.from(JSON.stringify([items.at(-1)!.name])).toString('base64url') : null };
}

function decodeNameCursor(cursor: string): string {
  try {
    const [name] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof name === 'string') return name;
  } catch {
    // fall through
  }
  throw badRequest('invalid cursor');
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
