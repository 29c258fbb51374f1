import type { BlockStatus, BlockType, EditableBlockStatus, Principal } from '@platform/contracts';
import { conflict, createEnvelope, notFound, type Clock, type IdGenerator, type TeamDirectory } from '@platform/kit';
import {
  archiveBlockTx,
  findBlock,
  insertBlocks,
  listBlocks,
  supersedeBlockTx,
  updateBlockTx,
  type BlockPatch,
  type BlockRecord,
  type NewBlock,
} from '../store/blocks.js';
import type { Graph } from '../store/neo4j.js';
import type { Ownership } from '../store/scope.js';
import { ownershipFor, scopeOf } from './access.js';
import { decodeCursor, encodeCursor } from './cursor.js';

export interface BlockDeps {
  graph: Graph;
  clock: Clock;
  newId: IdGenerator;
  /** Who is in which team (operations says): a user sees their teams' records. */
  teams: TeamDirectory;
}

export interface CreateBlockInput {
  type: BlockType;
  sessionId: string;
  title: string;
  content: string;
  status: BlockStatus;
  confidence: number;
  ideaId?: string | undefined;
  properties?: Record<string, unknown> | undefined;
  abstractionLevel?: string | undefined;
  embedding?: number[] | undefined;
  /** When the block starts to hold; defaults to its creation time. */
  validFrom?: string | undefined;
  /** Shares the block with this team; the caller must be a member (FORBIDDEN otherwise). */
  teamId?: string | undefined;
}

function newBlock(deps: BlockDeps, principal: Principal, input: CreateBlockInput, now: string, owner: Ownership): NewBlock {
  return {
    ...owner,
    id: deps.newId(),
    type: input.type,
    sessionId: input.sessionId,
    ideaId: input.ideaId ?? null,
    title: input.title,
    content: input.content,
    status: input.status,
    confidence: input.confidence,
    properties: JSON.stringify(input.properties ?? {}),
    abstractionLevel: input.abstractionLevel ?? null,
    embedding: input.embedding ?? null,
    createdBy: principal.id,
    now,
    validFrom: input.validFrom ?? now,
  };
}

const createdEvent = (deps: BlockDeps, b: NewBlock) =>
  createEnvelope(
    'knowledge',
    'knowledge.block.created',
    {
      blockId: b.id,
      type: b.type,
      sessionId: b.sessionId,
      title: b.title,
      status: b.status,
      createdBy: b.createdBy,
      ownerKind: b.ownerKind,
      ownerId: b.ownerId,
      teamId: b.teamId,
    },
    deps,
  );

export async function createBlock(deps: BlockDeps, principal: Principal, input: CreateBlockInput): Promise<BlockRecord> {
  const [block] = await createBlocks(deps, principal, [input]);
  return block!;
}

/** A batch is written in one transaction (UNWIND per type): all blocks and their events, or none. */
export async function createBlocks(deps: BlockDeps, principal: Principal, inputs: CreateBlockInput[]): Promise<BlockRecord[]> {
  const now = deps.clock().toISOString();
  const scope = await scopeOf(deps.teams, principal);
  const blocks = inputs.map((i) => newBlock(deps, principal, i, now, ownershipFor(principal, scope, i.teamId)));
  return insertBlocks(
    deps.graph,
    blocks,
    blocks.map((b) => createdEvent(deps, b)),
  );
}

/** A block the caller may see; NOT_FOUND when it does not exist or belongs to someone else. */
export async function getBlock(deps: BlockDeps, principal: Principal, id: string): Promise<BlockRecord> {
  const block = await findBlock(deps.graph, await scopeOf(deps.teams, principal), id);
  if (!block) throw notFound('block', id);
  return block;
}

/** Optimistic concurrency: the caller says which version it read; anything else is a CONFLICT. */
function assertVersion(current: BlockRecord, expected: number | undefined): void {
  if (expected !== undefined && current.version !== expected) {
    throw conflict(`block ${current.id} is at version ${current.version}, not ${expected}`, {
      currentVersion: current.version,
      expectedVersion: expected,
    });
  }
}

/** Superseded and archived blocks are history: they are read, never edited. */
function assertOpen(current: BlockRecord, action: string): void {
  if (current.status === 'superseded' || current.status === 'archived') {
    throw conflict(`block ${current.id} is ${current.status} and cannot be ${action}`, { status: current.status });
  }
}

export interface UpdateBlockInput {
  id: string;
  expectedVersion: number;
  patch: {
    title?: string | undefined;
    content?: string | undefined;
    status?: EditableBlockStatus | undefined;
    confidence?: number | undefined;
    properties?: Record<string, unknown> | undefined;
    abstractionLevel?: string | null | undefined;
    ideaId?: string | null | undefined;
    embedding?: number[] | null | undefined;
  };
}

function toStorePatch(patch: UpdateBlockInput['patch']): BlockPatch {
  const out: BlockPatch = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    (out as Record<string, unknown>)[k] = k === 'properties' ? JSON.stringify(v) : v;
  }
  return out;
}

export async function updateBlock(deps: BlockDeps, principal: Principal, input: UpdateBlockInput): Promise<BlockRecord> {
  const now = deps.clock().toISOString();
  const patch = toStorePatch(input.patch);
  const updated = await updateBlockTx(deps.graph, await scopeOf(deps.teams, principal), input.id, (current) => {
    assertVersion(current, input.expectedVersion);
    assertOpen(current, 'updated');
    const event = createEnvelope(
      'knowledge',
      'knowledge.block.updated',
      {
        blockId: current.id,
        type: current.type,
        version: current.version + 1,
        changed: Object.keys(patch).sort(),
        status: patch.status ?? current.status,
        updatedBy: principal.id,
      },
      deps,
    );
    return { patch, now, event };
  });
  if (!updated) throw notFound('block', input.id);
  return updated;
}

export async function archiveBlock(
  deps: BlockDeps,
  principal: Principal,
  input: { id: string; expectedVersion?: number | undefined },
): Promise<BlockRecord> {
  const now = deps.clock().toISOString();
  const archived = await archiveBlockTx(deps.graph, await scopeOf(deps.teams, principal), input.id, (current) => {
    assertVersion(current, input.expectedVersion);
    if (current.status === 'archived') throw conflict(`block ${current.id} is already archived`, { status: current.status });
    const event = createEnvelope(
      'knowledge',
      'knowledge.block.archived',
      { blockId: current.id, version: current.version + 1, archivedBy: principal.id },
      deps,
    );
    return { now, event };
  });
  if (!archived) throw notFound('block', input.id);
  return archived;
}

export interface SupersedeInput {
  id: string;
  expectedVersion?: number | undefined;
  reason?: string | undefined;
  /** The replacement; type, session and idea default to the old block's. */
  replacement: Omit<CreateBlockInput, 'type' | 'sessionId' | 'validFrom'> & { type?: BlockType | undefined };
}

/**
 * The replacement is the superseder's (the creating principal) and stays in the old block's team
 * unless another team is named, so a team's knowledge stays the team's when a member revises it.
 */

export async function supersedeBlock(
  deps: BlockDeps,
  principal: Principal,
  input: SupersedeInput,
): Promise<{ old: BlockRecord; replacement: BlockRecord }> {
  const now = deps.clock().toISOString();
  const scope = await scopeOf(deps.teams, principal);
  const result = await supersedeBlockTx(deps.graph, scope, input.id, (current) => {
    assertVersion(current, input.expectedVersion);
    assertOpen(current, 'superseded');
    // The old block's team needs no membership check: the caller sees the block, so it may keep it there.
    const owner =
      input.replacement.teamId !== undefined
        ? ownershipFor(principal, scope, input.replacement.teamId)
        : { ownerKind: principal.kind, ownerId: principal.id, teamId: current.teamId };
    const replacement = newBlock(
      deps,
      principal,
      {
        ...input.replacement,
        type: input.replacement.type ?? current.type,
        sessionId: current.sessionId,
        ideaId: input.replacement.ideaId ?? current.ideaId ?? undefined,
        validFrom: now,
      },
      now,
      owner,
    );
    const superseded = createEnvelope(
      'knowledge',
      'knowledge.block.superseded',
      {
        blockId: current.id,
        replacedBy: replacement.id,
        sessionId: current.sessionId,
        validTo: now,
        supersededBy: principal.id,
      },
      deps,
    );
    return { replacement, reason: input.reason ?? null, now, events: [createdEvent(deps, replacement), superseded] };
  });
  if (!result) throw notFound('block', input.id);
  return result;
}

export interface ListBlocksInput {
  type?: BlockType | undefined;
  sessionId?: string | undefined;
  status?: BlockStatus | undefined;
  ideaId?: string | undefined;
  validAt?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** One page in (createdAt, id) order; `nextCursor` is null on the last page. */
/** Only blocks the caller may see: another user's never appear, on any page. */
export async function listBlockPage(
  deps: BlockDeps,
  principal: Principal,
  input: ListBlocksInput,
): Promise<{ items: BlockRecord[]; nextCursor: string | null }> {
  const after = input.cursor ? decodeCursor(input.cursor) : undefined;
  const rows = await listBlocks(deps.graph, await scopeOf(deps.teams, principal), { ...input, after, limit: input.limit + 1 });
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > input.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
}
