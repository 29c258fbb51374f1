import type { BlockStatus, BlockType, EventSubject, TypedEnvelope } from '@platform/contracts';
import neo4j, { type ManagedTransaction } from 'neo4j-driver';
import { blockProjection, RETURN_BLOCK, toBlockRecord, type BlockRecord } from './block-record.js';
import type { Graph } from './neo4j.js';
import { readGraph, writeTx } from './neo4j.js';
import { appendOutboxMany } from './outbox.js';
import { scopeParams, visible, type Ownership, type Scope } from './scope.js';

export type { BlockRecord } from './block-record.js';
type Envelope = TypedEnvelope<EventSubject>;

export interface NewBlock extends Ownership {
  id: string;
  type: BlockType;
  sessionId: string;
  ideaId: string | null;
  title: string;
  content: string;
  status: BlockStatus;
  confidence: number;
  /** JSON object as a string. */
  properties: string;
  abstractionLevel: string | null;
  embedding: number[] | null;
  createdBy: string;
  now: string;
  validFrom: string;
}

/**
 * Creates the rows as (:Block:<Type>) nodes: one UNWIND per type (a label cannot be a parameter),
 * all in the caller's transaction. The label is interpolated, which is safe only because `type`
 * has passed the BlockType allow-list (zod enum) before reaching here.
 */
async function createBlockNodes(tx: ManagedTransaction, blocks: NewBlock[]): Promise<BlockRecord[]> {
  const byType = new Map<BlockType, NewBlock[]>();
  for (const b of blocks) byType.set(b.type, [...(byType.get(b.type) ?? []), b]);
  const created = new Map<string, BlockRecord>();
  for (const [type, rows] of byType) {
    const res = await tx.run(
      `UNWIND $rows AS r
       CREATE (b:Block:${type} {id: r.id, sessionId: r.sessionId, ideaId: r.ideaId, title: r.title, content: r.content,
         status: r.status, confidence: r.confidence, properties: r.properties, abstractionLevel: r.abstractionLevel,
         embedding: r.embedding, version: 1, createdBy: r.createdBy, createdAt: datetime(r.now), updatedAt: datetime(r.now),
         validFrom: datetime(r.validFrom), ownerKind: r.ownerKind, ownerId: r.ownerId, teamId: r.teamId})
       ${RETURN_BLOCK}`,
      { rows },
    );
    for (const rec of res.records) {
      const block = toBlockRecord(rec.get('block'));
      created.set(block.id, block);
    }
  }
  return blocks.map((b) => created.get(b.id)!);
}

/** Creates blocks and their events in one transaction (a batch is all or nothing). */
export function insertBlocks(g: Graph, blocks: NewBlock[], events: Envelope[]): Promise<BlockRecord[]> {
  return writeTx(g, blocks.length === 1 ? 'blocks.create' : 'blocks.createMany', async (tx) => {
    const created = await createBlockNodes(tx, blocks);
    await appendOutboxMany(tx, events);
    return created;
  });
}

/** The block when it exists and `scope` may see it; null otherwise (the two are not told apart). */
export function findBlock(g: Graph, scope: Scope, id: string): Promise<BlockRecord | null> {
  return readGraph(g, 'blocks.get', async (tx) => {
    const res = await tx.run(`MATCH (b:Block {id: $id}) WHERE ${visible('b')} ${RETURN_BLOCK}`, { id, ...scopeParams(scope) });
    const raw: unknown = res.records[0]?.get('block');
    return raw ? toBlockRecord(raw) : null;
  });
}

/**
 * Takes the block's write lock before reading it, so the caller's version check and the write
 * that follows see no concurrent change (read-committed alone would allow a lost update). A block
 * the scope may not see is neither locked nor returned: the caller answers NOT_FOUND.
 */
async function lockBlock(tx: ManagedTransaction, scope: Scope, id: string): Promise<BlockRecord | null> {
  const res = await tx.run(`MATCH (b:Block {id: $id}) WHERE ${visible('b')} SET b._lock = true REMOVE b._lock ${RETURN_BLOCK}`, {
    id,
    ...scopeParams(scope),
  });
  const raw: unknown = res.records[0]?.get('block');
  return raw ? toBlockRecord(raw) : null;
}

/** Property changes for an update; a null value removes the property (ideaId, embedding). */
export interface BlockPatch {
  title?: string;
  content?: string;
  status?: BlockStatus;
  confidence?: number;
  properties?: string;
  abstractionLevel?: string | null;
  ideaId?: string | null;
  embedding?: number[] | null;
}

/**
 * A mutation decided by the domain from the locked current state. `plan` may throw a DomainError
 * (stale version, wrong status); the transaction then rolls back and nothing is written.
 */
export type Plan<T> = (current: BlockRecord) => T;

export function updateBlockTx(
  g: Graph,
  scope: Scope,
  id: string,
  plan: Plan<{ patch: BlockPatch; now: string; event: Envelope }>,
): Promise<BlockRecord | null> {
  return writeTx(g, 'blocks.update', async (tx) => {
    const current = await lockBlock(tx, scope, id);
    if (!current) return null;
    const p = plan(current);
    const res = await tx.run(
      `MATCH (b:Block {id: $id})
       SET b += $patch, b.version = b.version + 1, b.updatedAt = datetime($now)
       ${RETURN_BLOCK}`,
      { id, patch: p.patch, now: p.now },
    );
    await appendOutboxMany(tx, [p.event]);
    return toBlockRecord(res.records[0]!.get('block'));
  });
}

export function archiveBlockTx(
  g: Graph,
  scope: Scope,
  id: string,
  plan: Plan<{ now: string; event: Envelope }>,
): Promise<BlockRecord | null> {
  return writeTx(g, 'blocks.archive', async (tx) => {
    const current = await lockBlock(tx, scope, id);
    if (!current) return null;
    const p = plan(current);
    const res = await tx.run(
      `MATCH (b:Block {id: $id})
       SET b.status = 'archived', b.validTo = coalesce(b.validTo, datetime($now)), b.version = b.version + 1, b.updatedAt = datetime($now)
       ${RETURN_BLOCK}`,
      { id, now: p.now },
    );
    await appendOutboxMany(tx, [p.event]);
    return toBlockRecord(res.records[0]!.get('block'));
  });
}

export interface SupersedePlan {
  replacement: NewBlock;
  reason: string | null;
  now: string;
  events: Envelope[];
}

/**
 * Creates the replacement, links it (new)-[:REPLACES]->(old) and closes the old block's validity
 * (status superseded, validTo = now). Nothing is deleted: the history stays queryable by validAt.
 */
export function supersedeBlockTx(
  g: Graph,
  scope: Scope,
  id: string,
  plan: Plan<SupersedePlan>,
): Promise<{ old: BlockRecord; replacement: BlockRecord } | null> {
  return writeTx(g, 'blocks.supersede', async (tx) => {
    const current = await lockBlock(tx, scope, id);
    if (!current) return null;
    const p = plan(current);
    const [replacement] = await createBlockNodes(tx, [p.replacement]);
    const res = await tx.run(
      `MATCH (old:Block {id: $id}), (new:Block {id: $newId})
       CREATE (new)-[:REPLACES {confidence: 1.0, reason: $reason, createdAt: datetime($now), createdBy: $by,
         ownerKind: $ownerKind, ownerId: $by, teamId: $teamId}]->(old)
       SET old.status = 'superseded', old.validTo = datetime($now), old.version = old.version + 1, old.updatedAt = datetime($now)
       RETURN ${blockProjection('old')} AS block`,
      {
        id,
        newId: p.replacement.id,
        reason: p.reason,
        now: p.now,
        by: p.replacement.ownerId,
        ownerKind: p.replacement.ownerKind,
        teamId: p.replacement.teamId,
      },
    );
    await appendOutboxMany(tx, p.events);
    return { old: toBlockRecord(res.records[0]!.get('block')), replacement: replacement! };
  });
}

export interface BlockFilter {
  type?: BlockType | undefined;
  sessionId?: string | undefined;
  status?: BlockStatus | undefined;
  ideaId?: string | undefined;
  /** Only blocks valid at this instant: validFrom <= t < validTo (open-ended when validTo is null). */
  validAt?: string | undefined;
  /** Keyset position: blocks strictly after (createdAt, id). */
  after?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/** Blocks in (createdAt, id) order. WHERE clauses are fixed fragments; values are parameters. */
export function listBlocks(g: Graph, scope: Scope, f: BlockFilter): Promise<BlockRecord[]> {
  const where: string[] = [visible('b')];
  if (f.sessionId !== undefined) where.push('b.sessionId = $sessionId');
  if (f.status !== undefined) where.push('b.status = $status');
  if (f.ideaId !== undefined) where.push('b.ideaId = $ideaId');
  if (f.validAt !== undefined) {
    where.push('coalesce(b.validFrom, b.createdAt) <= datetime($validAt) AND (b.validTo IS NULL OR b.validTo > datetime($validAt))');
  }
  if (f.after) where.push('(b.createdAt > datetime($afterAt) OR (b.createdAt = datetime($afterAt) AND b.id > $afterId))');
  // The label comes from the BlockType allow-list (zod enum), never from raw input.
  const label = f.type ? `:${f.type}` : '';
  return readGraph(g, 'blocks.list', async (tx) => {
    const res = await tx.run(
      `MATCH (b:Block${label})
       WHERE ${where.join(' AND ')}
       WITH b ORDER BY b.createdAt, b.id LIMIT $limit
       ${RETURN_BLOCK}`,
      {
        sessionId: f.sessionId ?? null,
        status: f.status ?? null,
        ideaId: f.ideaId ?? null,
        validAt: f.validAt ?? null,
        afterAt: f.after?.createdAt ?? null,
        afterId: f.after?.id ?? null,
        limit: neo4j.int(f.limit),
        ...scopeParams(scope),
      },
    );
    return res.records.map((r) => toBlockRecord(r.get('block')));
  });
}
