import type { EventSubject, LinkDirection, RelationshipType, TypedEnvelope } from '@platform/contracts';
import neo4j from 'neo4j-driver';
import { blockProjection, isoOf, toBlockRecord, type BlockRecord } from './block-record.js';
import type { Graph } from './neo4j.js';
import { readGraph, writeTx, type Reader } from './neo4j.js';
import { appendOutboxMany } from './outbox.js';
import { ownerProjection, scopeParams, toOwnerView, visible, type Ownership, type OwnerView, type Scope } from './scope.js';

type Envelope = TypedEnvelope<EventSubject>;

/**
 * A link is a record with an owner too. The caller sees it when it may see the link itself AND
 * both its endpoints; walks (neighbours, paths, search expansion) only follow such links to such
 * blocks, so they never pass through anything the caller could not read directly.
 */
export interface LinkRecord extends OwnerView {
  sourceId: string;
  targetId: string;
  type: RelationshipType;
  confidence: number | null;
  reason: string | null;
  createdAt: string | null;
  createdBy: string | null;
}

/** Map projection of a relationship bound to `r` (its type is one of the allow-listed ones). */
export const linkProjection = (r: string) =>
  `{sourceId: startNode(${r}).id, targetId: endNode(${r}).id, type: type(${r}), confidence: ${r}.confidence,
    reason: ${r}.reason, createdAt: toString(${r}.createdAt), createdBy: ${r}.createdBy, ${ownerProjection(r)}}`;

type RawLink = Omit<LinkRecord, 'owner' | 'teamId'> & { ownerKind?: string | null; ownerId?: string | null; teamId?: string | null };

const toLink = (raw: unknown): LinkRecord => {
  const { ownerKind, ownerId, teamId, ...l } = raw as RawLink;
  return {
    ...l,
    confidence: l.confidence ?? null,
    reason: l.reason ?? null,
    createdAt: isoOf(l.createdAt),
    createdBy: l.createdBy ?? null,
    ...toOwnerView({ ownerKind, ownerId, teamId }),
  };
};

/**
 * Relationship pattern pieces built only from allow-listed values: the types come from the
 * RelationshipType enum and the arrows from the LinkDirection enum, never from raw strings.
 */
export function relPattern(types: readonly RelationshipType[], direction: LinkDirection, range = ''): { left: string; right: string } {
  const t = types.length ? `:${types.join('|')}` : '';
  const body = `[${t}${range}]`;
  if (direction === 'out') return { left: '-', right: `${body}->` };
  if (direction === 'in') return { left: '<-', right: `${body}-` };
  return { left: '-', right: `${body}-` };
}

/** Ids among `ids` that do not exist or that the scope may not see (told apart from nothing). */
async function missingBlocks(tx: Reader, scope: Scope, ids: string[]): Promise<string[]> {
  const res = await tx.run(
    `UNWIND $ids AS id OPTIONAL MATCH (b:Block {id: id}) WHERE ${visible('b')} WITH id, b WHERE b IS NULL RETURN collect(id) AS missing`,
    { ids, ...scopeParams(scope) },
  );
  return res.records[0]?.get('missing') as string[];
}

/** `exists` is the existing link, or null when the caller may not see it (then only "it exists" is said). */
export type CreateLinkResult = { ok: true; link: LinkRecord } | { ok: false; missing: string[] } | { ok: false; exists: LinkRecord | null };

export interface NewLink extends Ownership {
  sourceId: string;
  targetId: string;
  type: RelationshipType;
  confidence: number;
  reason: string | null;
  createdBy: string;
  now: string;
}

/**
 * MERGE locks both endpoints, so two concurrent creates of the same link serialize and the second
 * finds the first: the relationship exists at most once per (source, type, target).
 */
export function createLinkTx(g: Graph, scope: Scope, l: NewLink, event: Envelope): Promise<CreateLinkResult> {
  return writeTx(g, 'links.create', async (tx) => {
    const missing = await missingBlocks(tx, scope, [l.sourceId, l.targetId]);
    if (missing.length) return { ok: false, missing };
    const res = await tx.run(
      `MATCH (a:Block {id: $sourceId}), (b:Block {id: $targetId})
       MERGE (a)-[r:${l.type}]->(b)
       ON CREATE SET r.confidence = $confidence, r.reason = $reason, r.createdAt = datetime($now), r.createdBy = $createdBy,
         r.ownerKind = $ownerKind, r.ownerId = $ownerId, r.teamId = $teamId
       RETURN ${linkProjection('r')} AS link, ${visible('r')} AS visible`,
      { ...l, ...scopeParams(scope) },
    );
    const link = toLink(res.records[0]!.get('link'));
    if (res.summary.counters.updates().relationshipsCreated === 0)
      return { ok: false, exists: res.records[0]!.get('visible') ? link : null };
    await appendOutboxMany(tx, [event]);
    return { ok: true, link };
  });
}

/** Removes a link the scope sees (the link and both endpoints); null when there is none such. */
export function removeLinkTx(
  g: Graph,
  scope: Scope,
  l: { sourceId: string; targetId: string; type: RelationshipType },
  event: Envelope,
): Promise<LinkRecord | null> {
  return writeTx(g, 'links.remove', async (tx) => {
    const res = await tx.run(
      `MATCH (a:Block {id: $sourceId})-[r:${l.type}]->(b:Block {id: $targetId})
       WHERE ${visible('a')} AND ${visible('b')} AND ${visible('r')}
       WITH r, ${linkProjection('r')} AS link
       DELETE r
       RETURN link`,
      { ...l, ...scopeParams(scope) },
    );
    if (res.records.length === 0) return null;
    await appendOutboxMany(tx, [event]);
    return toLink(res.records[0]!.get('link'));
  });
}

/** Whether the block exists and the scope may see it. */
export async function blockVisible(tx: Reader, scope: Scope, id: string): Promise<boolean> {
  const res = await tx.run(`MATCH (b:Block {id: $id}) WHERE ${visible('b')} RETURN count(b) AS n`, { id, ...scopeParams(scope) });
  return (res.records[0]?.get('n') as number) > 0;
}

/** Links of a block the scope sees (to blocks it sees), or null when the block is not visible. */
export function listLinks(
  g: Graph,
  scope: Scope,
  q: { blockId: string; direction: LinkDirection; types: RelationshipType[]; limit: number },
): Promise<LinkRecord[] | null> {
  const p = relPattern(q.types, q.direction);
  return readGraph(g, 'links.list', async (tx) => {
    if (!(await blockVisible(tx, scope, q.blockId))) return null;
    const res = await tx.run(
      `MATCH (b:Block {id: $id})${p.left}${p.right.replace('[', '[r')}(o:Block)
       WHERE ${visible('r')} AND ${visible('o')}
       RETURN ${linkProjection('r')} AS link
       ORDER BY link.type, link.sourceId, link.targetId LIMIT $limit`,
      { id: q.blockId, limit: neo4j.int(q.limit), ...scopeParams(scope) },
    );
    return res.records.map((r) => toLink(r.get('link')));
  });
}

export interface Neighbour {
  block: BlockRecord;
  distance: number;
}

/**
 * Breadth-first, one hop per query inside one read transaction, never revisiting a node: the work
 * is bounded by the nodes reached (at most `limit`), not by the number of paths, which explodes on
 * dense graphs with variable-length patterns.
 */
export function neighbours(
  g: Graph,
  scope: Scope,
  q: { blockId: string; depth: number; direction: LinkDirection; types: RelationshipType[]; limit: number },
): Promise<Neighbour[] | null> {
  const p = relPattern(q.types, q.direction);
  return readGraph(g, 'links.neighbours', async (tx) => {
    if (!(await blockVisible(tx, scope, q.blockId))) return null;
    const visited = new Set<string>([q.blockId]);
    const found: Neighbour[] = [];
    let frontier = [q.blockId];
    for (let distance = 1; distance <= q.depth && frontier.length > 0 && found.length < q.limit; distance++) {
      const res = await tx.run(
        `UNWIND $frontier AS fid
         MATCH (:Block {id: fid})${p.left}${p.right.replace('[', '[r')}(n:Block)
         WHERE NOT n.id IN $visited AND ${visible('r')} AND ${visible('n')}
         WITH DISTINCT n ORDER BY n.id LIMIT $room
         RETURN ${blockProjection('n')} AS block`,
        { frontier, visited: [...visited], room: neo4j.int(q.limit - found.length), ...scopeParams(scope) },
      );
      frontier = [];
      for (const r of res.records) {
        const block = toBlockRecord(r.get('block'));
        visited.add(block.id);
        frontier.push(block.id);
        found.push({ block, distance });
      }
    }
    return found;
  });
}

export interface PathResult {
  blocks: BlockRecord[];
  links: LinkRecord[];
}

/**
 * Shortest path up to maxDepth hops through visible blocks and links only (the predicates are
 * applied during the search, so a shorter path through hidden records neither wins nor leaks);
 * `missing` when an endpoint is absent or hidden, `path: null` when there is no such path.
 */
export function shortestPath(
  g: Graph,
  scope: Scope,
  q: { fromId: string; toId: string; maxDepth: number; direction: LinkDirection; types: RelationshipType[] },
): Promise<{ missing: string[] } | { path: PathResult | null }> {
  if (!Number.isInteger(q.maxDepth) || q.maxDepth < 1) throw new Error('maxDepth must be a positive integer');
  const p = relPattern(q.types, q.direction, `*..${q.maxDepth}`);
  return readGraph(g, 'links.shortestPath', async (tx) => {
    const missing = await missingBlocks(tx, scope, [q.fromId, q.toId]);
    if (missing.length) return { missing };
    const res = await tx.run(
      `MATCH (a:Block {id: $fromId}), (b:Block {id: $toId})
       MATCH p = shortestPath((a)${p.left}${p.right}(b))
       WHERE all(n IN nodes(p) WHERE ${visible('n')}) AND all(r IN relationships(p) WHERE ${visible('r')})
       RETURN [n IN nodes(p) | ${blockProjection('n')}] AS blocks, [r IN relationships(p) | ${linkProjection('r')}] AS links`,
      { fromId: q.fromId, toId: q.toId, ...scopeParams(scope) },
    );
    const rec = res.records[0];
    if (!rec) return { path: null };
    return {
      path: {
        blocks: (rec.get('blocks') as unknown[]).map(toBlockRecord),
        links: (rec.get('links') as unknown[]).map(toLink),
      },
    };
  });
}
