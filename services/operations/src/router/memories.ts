import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import type { CoreDeps } from '../domain/deps.js';
import {
  createMemory,
  expireMemories,
  getMemory,
  listMemories,
  memoryHistory,
  searchMemories,
  tagMemory,
  updateMemory,
} from '../domain/memories.js';
import type { MemoryWithTags } from '../store/memories.js';
import { authedProcedure, router } from '../trpc.js';
import { Cursor, DateTime, Id, iso, isoOrNull, JsonObject, Limit, pageOf, toPage } from './wire.js';

const meta = openApiMeta('memories');

export const MemoryType = z.enum(['episodic', 'semantic', 'procedural']);
export const MemoryStatus = z.enum(['active', 'archived', 'expired']);
export const MemoryTier = z.enum(['core', 'recall', 'archival']);
export const MemorySource = z.enum(['user', 'agent', 'conversation', 'system', 'import']);
export const Memory = z.object({
  id: z.uuid(),
  ownerUserId: z.string().nullable(),
  agentId: z.uuid().nullable(),
  type: MemoryType,
  status: MemoryStatus,
  tier: MemoryTier,
  source: MemorySource,
  content: z.string(),
  importance: z.number(),
  accessCount: z.number().int(),
  lastAccessedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  metadata: JsonObject,
  tags: z.array(z.string()),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const MemoryLogEntry = z.object({
  id: z.uuid(),
  memoryId: z.uuid(),
  actor: z.string(),
  change: z.enum(['created', 'updated', 'tagged', 'untagged', 'expired']),
  before: z.unknown(),
  after: z.unknown(),
  createdAt: z.string(),
});

const Content = z.string().trim().min(1).max(50_000);
const Importance = z.number().min(0).max(1);
const Tag = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N}_:.-]+$/u, 'letters, digits, _ : . - only');
const Tags = z.array(Tag).max(50);
const Metadata = JsonObject.refine((m) => JSON.stringify(m).length <= 20_000, 'metadata is larger than 20 kB');

const toMemory = (m: MemoryWithTags): z.infer<typeof Memory> => ({
  ...m,
  metadata: (m.metadata ?? {}) as Record<string, unknown>,
  lastAccessedAt: isoOrNull(m.lastAccessedAt),
  expiresAt: isoOrNull(m.expiresAt),
  createdAt: iso(m.createdAt),
  updatedAt: iso(m.updatedAt),
});

export function memoriesRouter(deps: CoreDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/memories/create', 'Store a memory for the caller (or for an agent)'))
      .input(
        z.strictObject({
          content: Content,
          type: MemoryType,
          tier: MemoryTier.default('recall'),
          source: MemorySource.default('user'),
          importance: Importance.default(0.5),
          expiresAt: DateTime.optional(),
          metadata: Metadata.default({}),
          tags: Tags.default([]),
          agentId: Id.optional(),
        }),
      )
      .output(Memory)
      .mutation(async ({ ctx, input }) => {
        const m = await createMemory(deps, ctx.principal, {
          ...input,
          tags: [...new Set(input.tags)],
          metadata: input.metadata as object,
          expiresAt: input.expiresAt ? new Date(input.expiresAt) : undefined,
        });
        return toMemory(m);
      }),
    get: authedProcedure
      .meta(meta('GET', '/memories/get', 'Read a memory (counts as an access)'))
      .input(z.strictObject({ id: Id }))
      .output(Memory)
      .query(async ({ ctx, input }) => toMemory(await getMemory(deps, ctx.principal, input.id))),
    update: authedProcedure
      .meta(meta('POST', '/memories/update', 'Change a memory; the change is logged in the same transaction'))
      .input(
        z.strictObject({
          id: Id,
          expectedVersion: z.number().int().min(1).optional(),
          content: Content.optional(),
          type: MemoryType.optional(),
          tier: MemoryTier.optional(),
          status: z.enum(['active', 'archived']).optional(),
          importance: Importance.optional(),
          expiresAt: DateTime.nullable().optional(),
          metadata: Metadata.optional(),
        }),
      )
      .output(Memory)
      .mutation(async ({ ctx, input }) => {
        const { id, expectedVersion, expiresAt, metadata, ...rest } = input;
        const patch = {
          ...rest,
          ...(expiresAt !== undefined ? { expiresAt: expiresAt === null ? null : new Date(expiresAt) } : {}),
          ...(metadata !== undefined ? { metadata: metadata as object } : {}),
        };
        return toMemory(await updateMemory(deps, ctx.principal, id, patch, expectedVersion));
      }),
    tag: authedProcedure
      .meta(meta('POST', '/memories/tag', 'Add and remove tags'))
      .input(
        z.strictObject({ id: Id, add: Tags.default([]), remove: Tags.default([]), expectedVersion: z.number().int().min(1).optional() }),
      )
      .output(Memory)
      .mutation(async ({ ctx, input }) =>
        toMemory(await tagMemory(deps, ctx.principal, { ...input, add: [...new Set(input.add)], remove: [...new Set(input.remove)] })),
      ),
    search: authedProcedure
      .meta(meta('GET', '/memories/search', 'Full-text search over visible memories'))
      .input(
        z.strictObject({
          query: z.string().trim().min(1).max(500),
          type: MemoryType.optional(),
          agentId: Id.optional(),
          includeInactive: z.enum(['true', 'false']).default('false'),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
      )
      .output(z.array(Memory.extend({ rank: z.number() })))
      .query(async ({ ctx, input }) => {
        const hits = await searchMemories(deps, ctx.principal, { ...input, includeInactive: input.includeInactive === 'true' });
        return hits.map((m) => ({ ...toMemory(m), rank: m.rank }));
      }),
    list: authedProcedure
      .meta(meta('GET', '/memories/list', 'Visible memories by type, tier, status, agent or tag, newest first'))
      .input(
        z.strictObject({
          type: MemoryType.optional(),
          tier: MemoryTier.optional(),
          status: MemoryStatus.optional(),
          agentId: Id.optional(),
          tag: Tag.optional(),
          cursor: Cursor,
          limit: Limit,
        }),
      )
      .output(pageOf(Memory))
      .query(async ({ ctx, input }) => toPage(await listMemories(deps, ctx.principal, input), toMemory)),
    expire: authedProcedure
      .meta(meta('POST', '/memories/expire', 'Expire one memory now, or all visible memories past their expiry'))
      .input(z.strictObject({ id: Id.optional(), limit: z.number().int().min(1).max(1_000).default(500) }))
      .output(z.object({ expired: z.array(Memory) }))
      .mutation(async ({ ctx, input }) => ({ expired: (await expireMemories(deps, ctx.principal, input)).map(toMemory) })),
    history: authedProcedure
      .meta(meta('GET', '/memories/history', 'The audit log of a memory (also after it is gone)'))
      .input(z.strictObject({ id: Id, limit: Limit }))
      .output(z.array(MemoryLogEntry))
      .query(async ({ ctx, input }) =>
        (await memoryHistory(deps, ctx.principal, input.id, input.limit)).map((l) => ({
          id: l.id,
          memoryId: l.memoryId,
          actor: l.actor,
          change: l.change,
          before: l.before,
          after: l.after,
          createdAt: iso(l.createdAt),
        })),
      ),
  });
}
