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
import { ownershipFor, scopeOf } from './access.js';
import type { BlockDeps } from './blocks.js';
import { getBlock } from './blocks.js';

/** No type filter means every allow-listed relationship type (never "any relationship at all"). */
const typesOrAll = (types: RelationshipType[] | undefined): RelationshipType[] =>
  types && types.length ? [...new Set(types)] : [...RelationshipType.options];

export interface CreateLinkInput {
  sourceId: string;
  targetId: string;
  type: RelationshipType;
  confidence: number;
  reason?: string | undefined;
  /** Shares the link with this team; the caller must be a member (FORBIDDEN otherwise). */
  teamId?: string | undefined;
}

/** Both endpoints must be blocks the caller sees; a hidden one is NOT_FOUND like a missing one. */
export async function createLink(deps: BlockDeps, principal: Principal, input: CreateLinkInput): Promise<LinkRecord> {
  if (input.sourceId === input.targetId) throw badRequest('a block cannot link to itself', { blockId: input.sourceId });
  const scope = await scopeOf(deps.teams, principal);
  const owner = ownershipFor(principal, scope, input.teamId);
  const event = createEnvelope(
    'knowledge',
    'knowledge.link.created',
    { sourceId: input.sourceId, targetId: input.targetId, type: input.type, by: principal.id },
    deps,
  );
  const result = await createLinkTx(
    deps.graph,
    scope,
    {
      sourceId: input.sourceId,
      targetId: input.targetId,
      type: input.type,
      confidence: input.confidence,
      reason: input.reason ?? null,
      createdBy: principal.id,
      now: deps.clock().toISOString(),
      ...owner,
    },
    event,
  );
  if (result.ok) return result.link;
  if ('missing' in result) throw notFound('block', result.missing.join(', '));
  // At most one link per (source, type, target): an existing one the caller may not see is still
  // a CONFLICT, but its details are not given.
  throw conflict(
    `${input.type} link from ${input.sourceId} to ${input.targetId} already exists`,
    result.exists ? { link: result.exists } : undefined,
  );
}

export async function removeLink(
  deps: BlockDeps,
  principal: Principal,
  input: { sourceId: string; targetId: string; type: RelationshipType },
): Promise<LinkRecord> {
  const event = createEnvelope('knowledge', 'knowledge.link.removed', { ...input, by: principal.id }, deps);
  const removed = await removeLinkTx(deps.graph, await scopeOf(deps.teams, principal), input, event);
  if (!removed) throw notFound('link', `${input.sourceId} -${input.type}-> ${input.targetId}`);
  return removed;
}

export async function linksOf(
  deps: BlockDeps,
  principal: Principal,
  input: { blockId: string; direction: LinkDirection; types?: RelationshipType[] | undefined; limit: number },
): Promise<LinkRecord[]> {
  const links = await listLinks(deps.graph, await scopeOf(deps.teams, principal), { ...input, types: typesOrAll(input.types) });
  if (!links) throw notFound('block', input.blockId);
  return links;
}

export async function neighboursOf(
  deps: BlockDeps,
  principal: Principal,
  input: { blockId: string; depth: number; direction: LinkDirection; types?: RelationshipType[] | undefined; limit: number },
): Promise<Neighbour[]> {
  const found = await neighbours(deps.graph, await scopeOf(deps.teams, principal), { ...input, types: typesOrAll(input.types) });
  if (!found) throw notFound('block', input.blockId);
  return found;
}

export async function pathBetween(
  deps: BlockDeps,
  principal: Principal,
  input: { fromId: string; toId: string; maxDepth: number; direction: LinkDirection; types?: RelationshipType[] | undefined },
): Promise<PathResult | null> {
  // Neo4j's shortestPath needs distinct endpoints; a block's path to itself is just the block.
  if (input.fromId === input.toId) return { blocks: [await getBlock(deps, principal, input.fromId)], links: [] };
  const result = await shortestPath(deps.graph, await scopeOf(deps.teams, principal), { ...input, types: typesOrAll(input.types) });
  if ('missing' in result) throw notFound('block', result.missing.join(', '));
  return result.path;
}
