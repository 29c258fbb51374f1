import type { Principal } from '@platform/contracts';
import { conflict, createEnvelope, notFound } from '@platform/kit';
import type { Prisma } from '../generated/prisma/client.js';
import { findAgent } from '../store/agents.js';
import {
  addTags,
  findMemory,
  insertMemory,
  insertMemoryLog,
  listMemories as listMemoryRows,
  listMemoryLog,
  lockDueForExpiry,
  lockMemory,
  recordAccess,
  removeTags,
  searchMemories as searchMemoryRows,
  updateMemory as updateMemoryRow,
  type MemoryChangeName,
  type MemoryFilter,
  type MemoryPatch,
  type MemoryWithTags,
  type NewMemory,
} from '../store/memories.js';
import { appendOutbox } from '../store/outbox.js';
import type { Page } from '../store/pagination.js';
import { asUser, type UserScope } from '../store/scope.js';
import { forbidden, isAdmin } from './access.js';
import type { CoreDeps } from './deps.js';

/** What the audit log keeps of a memory: everything a change can touch. */
function snapshot(m: MemoryWithTags): Prisma.InputJsonObject {
  return {
    content: m.content,
    type: m.type,
    tier: m.tier,
    status: m.status,
    importance: m.importance,
    expiresAt: m.expiresAt?.toISOString() ?? null,
    metadata: m.metadata as Prisma.InputJsonValue,
    tags: m.tags,
    version: m.version,
  };
}

/** Only the fields that differ, before and after (a readable diff in the log). */
function diff(
  before: Prisma.InputJsonObject,
  after: Prisma.InputJsonObject,
): { before: Prisma.InputJsonObject; after: Prisma.InputJsonObject } {
  const b: Record<string, Prisma.InputJsonValue | null> = {};
  const a: Record<string, Prisma.InputJsonValue | null> = {};
  for (const k of Object.keys(after)) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      b[k] = before[k] ?? null;
      a[k] = after[k] ?? null;
    }
  }
  return { before: b, after: a };
}

const subjectFor = {
  created: 'operations.memory.created',
  updated: 'operations.memory.updated',
  tagged: 'operations.memory.updated',
  untagged: 'operations.memory.updated',
  expired: 'operations.memory.expired',
} as const;

/** Log entry + outbox row for one change, in the caller's transaction: the change, its audit and its event commit together. */
async function recordChange(
  deps: CoreDeps,
  s: UserScope,
  change: MemoryChangeName,
  before: MemoryWithTags | null,
  after: MemoryWithTags,
): Promise<void> {
  const d = before ? diff(snapshot(before), snapshot(after)) : { before: null, after: snapshot(after) };
  await insertMemoryLog(s, {
    memoryId: after.id,
    ownerUserId: after.ownerUserId,
    agentId: after.agentId,
    change,
    before: d.before,
    after: d.after,
  });
  const data = {
    memoryId: after.id,
    ownerUserId: after.ownerUserId,
    agentId: after.agentId,
    type: after.type,
    tier: after.tier,
    status: after.status,
    version: after.version,
    change,
  };
  await appendOutbox(s.tx, createEnvelope('operations', subjectFor[change], data, deps));
}

/**
 * Creates a memory owned by the caller, or by an agent: allowed to that agent itself (its token's
 * principal id is the agent's name) and to platform admins.
 */
export function createMemory(deps: CoreDeps, principal: Principal, input: NewMemory): Promise<MemoryWithTags> {
  return asUser(
    deps.db,
    principal,
    async (s) => {
      if (input.agentId !== undefined) {
        const agent = await findAgent(s, { id: input.agentId });
        if (!agent) throw notFound('agent', input.agentId);
        if (agent.name !== principal.id && !isAdmin(principal)) throw forbidden(`not allowed to write memories of agent ${agent.name}`);
      }
      const memory = await insertMemory(s, input);
      await recordChange(deps, s, 'created', null, memory);
      return memory;
    },
    { write: true },
  );
}

/** Reads a memory and counts the access (recency and frequency drive tiering). */
export function getMemory(deps: CoreDeps, principal: Principal, id: string): Promise<MemoryWithTags> {
  const admin = isAdmin(principal);
  return asUser(deps.db, principal, async (s) => {
    if (!(await findMemory(s, id, admin))) throw notFound('memory', id);
    await recordAccess(s, id, deps.clock());
    return (await findMemory(s, id, admin))!;
  });
}

async function lockVisible(s: UserScope, id: string, admin: boolean, expectedVersion: number | undefined): Promise<MemoryWithTags> {
  const m = await lockMemory(s, id, admin);
  if (!m) throw notFound('memory', id);
  if (expectedVersion !== undefined && m.version !== expectedVersion) {
    throw conflict(`memory ${id} is at version ${m.version}, expected ${expectedVersion}`, { expectedVersion, actualVersion: m.version });
  }
  return m;
}

/** Updates a memory (optionally only at `expectedVersion`) with its MemoryLog entry in the same transaction. */
export function updateMemory(
  deps: CoreDeps,
  principal: Principal,
  id: string,
  patch: MemoryPatch,
  expectedVersion?: number,
): Promise<MemoryWithTags> {
  const admin = isAdmin(principal);
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const before = await lockVisible(s, id, admin, expectedVersion);
      const after = await updateMemoryRow(s, id, patch);
      await recordChange(deps, s, 'updated', before, after);
      return after;
    },
    { write: true },
  );
}

/** Adds and removes tags (a no-op change writes nothing). */
export function tagMemory(
  deps: CoreDeps,
  principal: Principal,
  input: { id: string; add: string[]; remove: string[]; expectedVersion?: number | undefined },
): Promise<MemoryWithTags> {
  const admin = isAdmin(principal);
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const before = await lockVisible(s, input.id, admin, input.expectedVersion);
      const removed = await removeTags(
        s,
        input.id,
        input.remove.filter((t) => !input.add.includes(t)),
      );
      const added = await addTags(s, input.id, input.add);
      if (added.length === 0 && removed.length === 0) return before;
      const after = await updateMemoryRow(s, input.id, {});
      await recordChange(deps, s, added.length > 0 ? 'tagged' : 'untagged', before, after);
      return after;
    },
    { write: true },
  );
}

export function listMemories(deps: CoreDeps, principal: Principal, f: MemoryFilter): Promise<Page<MemoryWithTags>> {
  return asUser(deps.db, principal, (s) => listMemoryRows(s, isAdmin(principal), f));
}

export function searchMemories(
  deps: CoreDeps,
  principal: Principal,
  f: { query: string; type?: NewMemory['type'] | undefined; agentId?: string | undefined; includeInactive: boolean; limit: number },
) {
  return asUser(deps.db, principal, (s) => searchMemoryRows(s, isAdmin(principal), f));
}

/**
 * Expires one memory now, or (without an id) every visible active memory whose expiresAt has passed,
 * up to `limit`. Each expiry gets its log entry and event in the same transaction.
 */
export function expireMemories(
  deps: CoreDeps,
  principal: Principal,
  input: { id?: string | undefined; limit: number },
): Promise<MemoryWithTags[]> {
  const admin = isAdmin(principal);
  const now = deps.clock();
  return asUser(
    deps.db,
    principal,
    async (s) => {
      const due =
        input.id !== undefined ? [await lockVisible(s, input.id, admin, undefined)] : await lockDueForExpiry(s, admin, now, input.limit);
      const expired: MemoryWithTags[] = [];
      for (const before of due) {
        if (before.status === 'expired') continue;
        const after = await updateMemoryRow(s, before.id, {
          status: 'expired',
          expiresAt: before.expiresAt && before.expiresAt <= now ? before.expiresAt : now,
        });
        await recordChange(deps, s, 'expired', before, after);
        expired.push(after);
      }
      return expired;
    },
    { write: true },
  );
}

/**
 * The audit log of a memory the caller may see, or of one that is gone and was theirs. Anything else
 * is NOT_FOUND — the same answer for another principal's memory as for an id that never existed.
 */
export function memoryHistory(deps: CoreDeps, principal: Principal, id: string, limit: number) {
  const admin = isAdmin(principal);
  return asUser(deps.db, principal, async (s) => {
    const entries = await listMemoryLog(s, id, admin, limit);
    if (entries.length === 0 && !(await findMemory(s, id, admin))) throw notFound('memory', id);
    return entries;
  });
}
