import { RelationshipType, type LinkDirection, type Principal } from '@platform/contracts';
import { badRequest, conflict, createEnvelope, notFound } from '@platform/kit';
import {
  createLinkTx,
  listLinks,
  neighbours,
  removeLinkTx,
  shortestPath,
  type LinkRecord,
  type Neighbour,
  type PathResult,
} from '../store/links.js';
import type { BlockDeps } from './blocks.js';
import { getBlock } from './blocks.js';

/** No type filter means every allow-listed relationship type (never "any relationship at all"). */
const typesOrAll = (types: RelationshipType[] | undefined): RelationshipType[] => (types && types.length ? [...new Set(types)] : [...RelationshipType.options]);

export interface CreateLinkInput {
  sourceId: string;
  targetId: string;
  type: RelationshipType;
  confidence: number;
  reason?: string | undefined;
}

export async function createLink(deps: BlockDeps, principal: Principal, input: CreateLinkInput): Promise<LinkRecord> {
  if (input.sourceId === input.targetId) throw badRequest('a block cannot link to itself', { blockId: input.sourceId });
  const event = createEnvelope('knowledge', 'knowledge.link.created', { sourceId: input.sourceId, targetId: input.targetId, type: input.type, by: principal.id }, deps);
  const result = await createLinkTx(deps.graph, {
    ...input,
    reason: input.reason ?? null,
    createdBy: principal.id,
    now: deps.clock().toISOString(),
  }, event);
  if (result.ok) return result.link;
  if ('missing' in result) throw notFound('block', result.missing.join(', '));
  throw conflict(`${input.type} link from ${input.sourceId} to ${input.targetId} already exists`, { link: result.exists });
}

export async function removeLink(deps: BlockDeps, principal: Principal, input: { sourceId: string; targetId: string; type: RelationshipType }): Promise<LinkRecord> {
  const event = createEnvelope('knowledge', 'knowledge.link.removed', { ...input, by: principal.id }, deps);
  const removed = await removeLinkTx(deps.graph, input, event);
  if (!removed) throw notFound('link', `${input.sourceId} -${input.type}-> ${input.targetId}`);
  return removed;
}

export async function linksOf(
  deps: BlockDeps,
  input: { blockId: string; direction: LinkDirection; types?: RelationshipType[] | undefined; limit: number },
): Promise<LinkRecord[]> {
  const links = await listLinks(deps.graph, { ...input, types: typesOrAll(input.types) });
  if (!links) throw notFound('block', input.blockId);
  return links;
}

export async function neighboursOf(
  deps: BlockDeps,
  input: { blockId: string; depth: number; direction: LinkDirection; types?: RelationshipType[] | undefined; limit: number },
): Promise<Neighbour[]> {
  const found = await neighbours(deps.graph, { ...input, types: typesOrAll(input.types) });
  if (!found) throw notFound('block', input.blockId);
  return found;
}

export async function pathBetween(
  deps: BlockDeps,
  input: { fromId: string; toId: string; maxDepth: number; direction: LinkDirection; types?: RelationshipType[] | undefined },
): Promise<PathResult | null> {
  // Neo4j's shortestPath needs distinct endpoints; a block's path to itself is just the block.
  if (input.fromId === input.toId) return { blocks: [await getBlock(deps, input.fromId)], links: [] };
  const result = await shortestPath(deps.graph, { ...input, types: typesOrAll(input.types) });
  if ('missing' in result) throw notFound('block', result.missing.join(', '));
  return result.path;
}
