import type { Prisma } from '../generated/prisma/client.js';
import { afterCursor, keysetOrder, toPage, type Page } from './pagination.js';
import type { UserScope } from './scope.js';

export type MemoryTypeName = 'episodic' | 'semantic' | 'procedural';
export type MemoryStatusName = 'active' | 'archived' | 'expired';
export type MemoryTierName = 'core' | 'recall' | 'archival';
export type MemorySourceName = 'user' | 'agent' | 'conversation' | 'system' | 'import';
export type MemoryChangeName = 'created' | 'updated' | 'tagged' | 'untagged' | 'expired';

export interface MemoryRow {
  id: string;
  ownerUserId: string | null;
  agentId: string | null;
  type: MemoryTypeName;
  status: MemoryStatusName;
  tier: MemoryTierName;
  source: MemorySourceName;
  content: string;
  importance: number;
  accessCount: number;
  lastAccessedAt: Date | null;
  expiresAt: Date | null;
  metadata: Prisma.JsonValue;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}
export type MemoryWithTags = MemoryRow & { tags: string[] };

export interface NewMemory {
  agentId?: string | undefined;
  type: MemoryTypeName;
  tier: MemoryTierName;
  source: MemorySourceName;
  content: string;
  importance: number;
  expiresAt?: Date | undefined;
  metadata: Prisma.InputJsonValue;
  tags: string[];
}

export interface MemoryPatch {
  content?: string | undefined;
  importance?: number | undefined;
  tier?: MemoryTierName | undefined;
  type?: MemoryTypeName | undefined;
  status?: MemoryStatusName | undefined;
  expiresAt?: Date | null | undefined;
  metadata?: Prisma.InputJsonValue | undefined;
}

// Scalar columns only: the generated search_vector is never read back.
const fields = {
  id: true,
  ownerUserId: true,
  agentId: true,
  type: true,
  status: true,
  tier: true,
  source: true,
  content: true,
  importance: true,
  accessCount: true,
  lastAccessedAt: true,
  expiresAt: true,
  metadata: true,
  version: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.MemorySelect;
const withTags = { ...fields, tags: { select: { tag: true }, orderBy: { tag: 'asc' } } } as const satisfies Prisma.MemorySelect;

const flatten = (m: MemoryRow & { tags: Array<{ tag: string }> }): MemoryWithTags => ({ ...m, tags: m.tags.map((t) => t.tag) });

/** Own memories, memories of the agent the caller is, and (for platform admins) all agent memories. */
export const visibleTo = (userId: string, admin: boolean): Prisma.MemoryWhereInput => ({
  OR: [{ ownerUserId: userId }, { agent: { name: userId } }, ...(admin ? [{ agentId: { not: null } }] : [])],
});

export async function insertMemory(s: UserScope, m: NewMemory): Promise<MemoryWithTags> {
  const row = await s.tx.memory.create({
    data: {
      ...(m.agentId ? { agentId: m.agentId } : { ownerUserId: s.userId }),
      type: m.type,
      tier: m.tier,
      source: m.source,
      content: m.content,
      importance: m.importance,
      expiresAt: m.expiresAt ?? null,
      metadata: m.metadata,
      tags: { create: m.tags.map((tag) => ({ tag })) },
    },
    select: withTags,
  });
  return flatten(row);
}

export async function findMemory(s: UserScope, id: string, admin: boolean): Promise<MemoryWithTags | null> {
  const row = await s.tx.memory.findFirst({ where: { id, ...visibleTo(s.userId, admin) }, select: withTags });
  return row ? flatten(row) : null;
}

/** Locks a visible memory for the rest of the transaction (read-modify-write of its version). */
export async function lockMemory(s: UserScope, id: string, admin: boolean): Promise<MemoryWithTags | null> {
  const rows = await s.tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM memories WHERE id = ${id}::uuid FOR UPDATE`;
  return rows.length === 0 ? null : findMemory(s, id, admin);
}

export async function updateMemory(s: UserScope, id: string, patch: MemoryPatch): Promise<MemoryWithTags> {
  const row = await s.tx.memory.update({
    where: { id },
    data: {
      ...(patch.content !== undefined ? { content: patch.content } : {}),
      ...(patch.importance !== undefined ? { importance: patch.importance } : {}),
      ...(patch.tier !== undefined ? { tier: patch.tier } : {}),
      ...(patch.type !== undefined ? { type: patch.type } : {}),
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.expiresAt !== undefined ? { expiresAt: patch.expiresAt } : {}),
      ...(patch.metadata !== undefined ? { metadata: patch.metadata } : {}),
      version: { increment: 1 },
    },
    select: withTags,
  });
  return flatten(row);
}

export async function addTags(s: UserScope, id: string, tags: string[]): Promise<string[]> {
  if (tags.length === 0) return [];
  const rows = await s.tx.$queryRaw<Array<{ tag: string }>>`
    INSERT INTO memory_tags (memory_id, tag) SELECT ${id}::uuid, t FROM unnest(${tags}::text[]) AS t
    ON CONFLICT DO NOTHING RETURNING tag`;
  return rows.map((r) => r.tag);
}

export async function removeTags(s: UserScope, id: string, tags: string[]): Promise<string[]> {
  if (tags.length === 0) return [];
  const rows = await s.tx.$queryRaw<Array<{ tag: string }>>`
    DELETE FROM memory_tags WHERE memory_id = ${id}::uuid AND tag = ANY(${tags}::text[]) RETURNING tag`;
  return rows.map((r) => r.tag);
}

/** Reading a memory counts as an access (recency and frequency drive tiering). */
export async function recordAccess(s: UserScope, id: string, at: Date): Promise<void> {
  await s.tx.memory.update({ where: { id }, data: { accessCount: { increment: 1 }, lastAccessedAt: at } });
}

export interface MemoryFilter {
  type?: MemoryTypeName | undefined;
  tier?: MemoryTierName | undefined;
  status?: MemoryStatusName | undefined;
  agentId?: string | undefined;
  tag?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

const filterWhere = (f: Omit<MemoryFilter, 'cursor' | 'limit'>): Prisma.MemoryWhereInput => ({
  ...(f.type ? { type: f.type } : {}),
  ...(f.tier ? { tier: f.tier } : {}),
  ...(f.status ? { status: f.status } : {}),
  ...(f.agentId ? { agentId: f.agentId } : {}),
  ...(f.tag ? { tags: { some: { tag: f.tag } } } : {}),
});

export async function listMemories(s: UserScope, admin: boolean, f: MemoryFilter): Promise<Page<MemoryWithTags>> {
  const rows = await s.tx.memory.findMany({
    where: { AND: [visibleTo(s.userId, admin), filterWhere(f), afterCursor(f.cursor)] },
    orderBy: [...keysetOrder()],
    take: f.limit + 1,
    select: withTags,
  });
  return toPage(rows.map(flatten), f.limit);
}

/** Full-text search (generated tsvector + GIN), best match first, then importance. */
export async function searchMemories(
  s: UserScope,
  admin: boolean,
  f: { query: string; type?: MemoryTypeName | undefined; agentId?: string | undefined; includeInactive: boolean; limit: number },
): Promise<Array<MemoryWithTags & { rank: number }>> {
  const hits = await s.tx.$queryRaw<Array<{ id: string; rank: number }>>`
    SELECT m.id::text, ts_rank(m.search_vector, q)::float8 AS rank
    FROM memories m CROSS JOIN websearch_to_tsquery('english', ${f.query}) AS q
    WHERE m.search_vector @@ q
      AND (m.owner_user_id = ${s.userId} OR m.agent_id IN (SELECT a.id FROM agents a WHERE a.name = ${s.userId})
           OR (${admin} AND m.agent_id IS NOT NULL))
      AND (${f.includeInactive} OR m.status = 'active')
      AND (${f.type ?? null}::text IS NULL OR m.type::text = ${f.type ?? null}::text)
      AND (${f.agentId ?? null}::uuid IS NULL OR m.agent_id = ${f.agentId ?? null}::uuid)
    ORDER BY rank DESC, m.importance DESC, m.created_at DESC
    LIMIT ${f.limit}`;
  if (hits.length === 0) return [];
  const rows = await s.tx.memory.findMany({ where: { id: { in: hits.map((h) => h.id) } }, select: withTags });
  const byId = new Map(rows.map((r) => [r.id, flatten(r)]));
  return hits.flatMap((h) => {
    const m = byId.get(h.id);
    return m ? [{ ...m, rank: h.rank }] : [];
  });
}

/** The caller's active memories whose expiry has passed (locked: expiring them is a change). */
export async function lockDueForExpiry(s: UserScope, admin: boolean, now: Date, limit: number): Promise<MemoryWithTags[]> {
  const rows = await s.tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM memories
    WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= ${now}
      AND (owner_user_id = ${s.userId} OR agent_id IN (SELECT a.id FROM agents a WHERE a.name = ${s.userId}) OR (${admin} AND agent_id IS NOT NULL))
    ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
  if (rows.length === 0) return [];
  const found = await s.tx.memory.findMany({ where: { id: { in: rows.map((r) => r.id) } }, select: withTags });
  return found.map(flatten);
}

export interface MemoryLogEntry {
  memoryId: string;
  ownerUserId: string | null;
  agentId: string | null;
  change: MemoryChangeName;
  before: Prisma.InputJsonValue | null;
  after: Prisma.InputJsonValue | null;
}

/** Appends to the audit log in the caller's transaction (the table is insert-only for the service). */
export async function insertMemoryLog(s: UserScope, e: MemoryLogEntry): Promise<void> {
  await s.tx.memoryLog.create({
    data: {
      memoryId: e.memoryId,
      ownerUserId: e.ownerUserId,
      agentId: e.agentId,
      actor: s.userId,
      change: e.change,
      ...(e.before !== null ? { before: e.before } : {}),
      ...(e.after !== null ? { after: e.after } : {}),
    },
  });
}

/**
 * A memory's audit log, as far as the caller owns it: the same ownership rule as visibleTo, applied to
 * the owner columns the log copies (so it still answers after the memory is gone). Not `actor`: having
 * once acted on a memory is no right to read its history. RLS enforces the same underneath.
 */
export async function listMemoryLog(s: UserScope, memoryId: string, admin: boolean, limit: number) {
  const myAgents = (await s.tx.agent.findMany({ where: { name: s.userId }, select: { id: true } })).map((a) => a.id);
  return s.tx.memoryLog.findMany({
    where: { memoryId, OR: [{ ownerUserId: s.userId }, { agentId: { in: myAgents } }, ...(admin ? [{ agentId: { not: null } }] : [])] },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: limit,
  });
}
