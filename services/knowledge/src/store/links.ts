import type { EventSubject, LinkDirection, RelationshipType, TypedEnvelope } from '@platform/contracts';
import neo4j from 'neo4j-driver';
import { blockProjection, isoOf, toBlockRecord, type BlockRecord } from './block-record.js';
import type { Graph } from './neo4j.js';
import { readGraph, writeTx, type Reader } from './neo4j.js';
import { appendOutboxMany } from './outbox.js';

type Envelope = TypedEnvelope<EventSubject>;

export interface LinkRecord {
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
    reason: ${r}.reason, createdAt: toString(${r}.createdAt), createdBy: ${r}.createdBy}`;

const toLink = (raw: unknown): LinkRecord => {
  const l = raw as LinkRecord;
  return { ...l, confidence: l.confidence ?? null, reason: l.reason ?? null, createdAt: isoOf(l.createdAt), createdBy: l.createdBy ?? null };
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

async function missingBlocks(tx: Reader, ids: string[]): Promise<string[]> {
  const res = await tx.run('UNWIND $ids AS id OPTIONAL MATCH (b:Block {id: id}) WITH id, b WHERE b IS NULL RETURN collect(id) AS missing', { ids });
  return res.records[0]?.get('missing') as string[];
}

export type CreateLinkResult = { ok: true; link: LinkRecord } | { ok: false; missing: string[] } | { ok: false; exists: LinkRecord };

export interface NewLink {
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
export function createLinkTx(g: Graph, l: NewLink, event: Envelope): Promise<CreateLinkResult> {
  return writeTx(g, 'links.create', async (tx) => {
    const missing = await missingBlocks(tx, [l.sourceId, l.targetId]);
    if (missing.length) return { ok: false, missing };
    const res = await tx.run(
      `MATCH (a:Block {id: $sourceId}), (b:Block {id: $targetId})
       MERGE (a)-[r:${l.type}]->(b)
       ON CREATE SET r.confidence = $confidence, r.reason = $reason, r.createdAt = datetime($now), r.createdBy = $createdBy
       RETURN ${linkProjection('r')} AS link`,
      l,
    );
    const link = toLink(res.records[0]!.get('link'));
    if (res.summary.counters.updates().relationshipsCreated === 0) return { ok: false, exists: link };
    await appendOutboxMany(tx, [event]);
    return { ok: true, link };
  });
}

export function removeLinkTx(g: Graph, l: { sourceId: string; targetId: string; type: RelationshipType }, event: Envelope): Promise<LinkRecord | null> {
  return writeTx(g, 'links.remove', async (tx) => {
    const res = await tx.run(
      `MATCH (:Block {id: $sourceId})-[r:${l.type}]->(:Block {id: $targetId})
       WITH r, ${linkProjection('r')} AS link
       DELETE r
       RETURN link`,
      l,
    );
    if (res.records.length === 0) return null;
    await appendOutboxMany(tx, [event]);
    return toLink(res.records[0]!.get('link'));
  });
}

export async function blockExists(tx: Reader, id: string): Promise<boolean> {
  const res = await tx.run('MATCH (b:Block {id: $id}) RETURN count(b) AS n', { id });
  return (res.records[0]?.get('n') as number) > 0;
}

/** Links of a block, or null when the block does not exist. */
export function listLinks(g: Graph, q: { blockId: string; direction: LinkDirection; types: RelationshipType[]; limit: number }): Promise<LinkRecord[] | null> {
  const p = relPattern(q.types, q.direction);
  return readGraph(g, 'links.list', async (tx) => {
    if (!(await blockExists(tx, q.blockId))) return null;
    const res = await tx.run(
      `MATCH (b:Block {id: $id})${p.left}${p.right.replace('[', '[r')}(o:Block)
       RETURN ${linkProjection('r')} AS link
       ORDER BY link.type, link.sourceId, link.targetId LIMIT $limit`,
      { id: q.blockId, limit: neo4j.int(q.limit) },
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
  q: { blockId: string; depth: number; direction: LinkDirection; types: RelationshipType[]; limit: number },
): Promise<Neighbour[] | null> {
  const p = relPattern(q.types, q.direction);
  return readGraph(g, 'links.neighbours', async (tx) => {
    if (!(await blockExists(tx, q.blockId))) return null;
    const visited = new Set<string>([q.blockId]);
    const found: Neighbour[] = [];
    let frontier = [q.blockId];
    for (let distance = 1; distance <= q.depth && frontier.length > 0 && found.length < q.limit; distance++) {
      const res = await tx.run(
        `UNWIND $frontier AS fid
         MATCH (:Block {id: fid})${p.left}${p.right}(n:Block)
         WHERE NOT n.id IN $visited
         WITH DISTINCT n ORDER BY n.id LIMIT $room
         RETURN ${blockProjection('n')} AS block`,
        { frontier, visited: [...visited], room: neo4j.int(q.limit - found.length) },
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

/** Shortest path up to maxDepth hops; undefined when an endpoint is missing, null when no path. */
export function shortestPath(
  g: Graph,
  q: { fromId: string; toId: string; maxDepth: number; direction: LinkDirection; types: RelationshipType[] },
): Promise<{ missing: string[] } | { path: PathResult | null }> {
  if (!Number.isInteger(q.maxDepth) || q.maxDepth < 1) throw new Error('maxDepth must be a positive integer');
  const p = relPattern(q.types, q.direction, `*..${q.maxDepth}`);
  return readGraph(g, 'links.shortestPath', async (tx) => {
    const missing = await missingBlocks(tx, [q.fromId, q.toId]);
    if (missing.length) return { missing };
    const res = await tx.run(
      `MATCH (a:Block {id: $fromId}), (b:Block {id: $toId})
       MATCH p = shortestPath((a)${p.left}${p.right}(b))
       RETURN [n IN nodes(p) | ${blockProjection('n')}] AS blocks, [r IN relationships(p) | ${linkProjection('r')}] AS links`,
      { fromId: q.fromId, toId: q.toId },
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
