import { openApiMeta } from '@platform/kit';
import { BlockId, Confidence, LinkDirection, RelationshipType } from '@platform/contracts';
import { z } from 'zod';
import type { BlockDeps } from '../domain/blocks.js';
import { createLink, linksOf, neighboursOf, pathBetween, removeLink } from '../domain/links.js';
import { authedProcedure, router } from '../trpc.js';
import { Block, Link, TeamId } from './wire.js';

const meta = openApiMeta('links');
const Types = z.array(RelationshipType).max(RelationshipType.options.length).optional();
const LinkKey = z.strictObject({ sourceId: BlockId, targetId: BlockId, type: RelationshipType });

/** Bounds keep every graph walk cheap: depth ≤ 5 for neighbours, ≤ 10 hops for a shortest path. */
export const MAX_NEIGHBOUR_DEPTH = 5;
export const MAX_PATH_DEPTH = 10;

export function linksRouter(deps: BlockDeps) {
  return router({
    create: authedProcedure
      .meta(meta('POST', '/links/create', 'Link two blocks with an allow-listed relationship type'))
      .input(LinkKey.extend({ confidence: Confidence.default(0.5), reason: z.string().max(2_000).optional(), teamId: TeamId.optional() }))
      .output(Link)
      .mutation(({ ctx, input }) => createLink(deps, ctx.principal, input)),
    remove: authedProcedure
      .meta(meta('POST', '/links/remove', 'Remove a link'))
      .input(LinkKey)
      .output(Link)
      .mutation(({ ctx, input }) => removeLink(deps, ctx.principal, input)),
    list: authedProcedure
      .meta(meta('POST', '/links/list', "List a block's links by direction and types"))
      .input(
        z.strictObject({
          blockId: BlockId,
          direction: LinkDirection.default('both'),
          types: Types,
          limit: z.number().int().min(1).max(1_000).default(200),
        }),
      )
      .output(z.object({ links: z.array(Link) }))
      .query(async ({ ctx, input }) => ({ links: await linksOf(deps, ctx.principal, input) })),
    neighbours: authedProcedure
      .meta(meta('POST', '/links/neighbours', 'Blocks reachable within N hops (bounded), nearest first'))
      .input(
        z.strictObject({
          blockId: BlockId,
          depth: z.number().int().min(1).max(MAX_NEIGHBOUR_DEPTH).default(1),
          direction: LinkDirection.default('both'),
          types: Types,
          limit: z.number().int().min(1).max(500).default(100),
        }),
      )
      .output(z.object({ neighbours: z.array(z.object({ block: Block, distance: z.number().int() })) }))
      .query(async ({ ctx, input }) => ({ neighbours: await neighboursOf(deps, ctx.principal, input) })),
    shortestPath: authedProcedure
      .meta(meta('POST', '/links/shortest-path', 'Shortest path between two blocks (null when none within maxDepth)'))
      .input(
        z.strictObject({
          fromId: BlockId,
          toId: BlockId,
          maxDepth: z.number().int().min(1).max(MAX_PATH_DEPTH).default(6),
          direction: LinkDirection.default('both'),
          types: Types,
        }),
      )
      .output(z.object({ path: z.object({ blocks: z.array(Block), links: z.array(Link) }).nullable() }))
      .query(async ({ ctx, input }) => ({ path: await pathBetween(deps, ctx.principal, input) })),
  });
}
