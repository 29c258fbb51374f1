import { openApiMeta } from '@platform/kit';
import { BlockId, BlockStatus, BlockType, RelationshipType, SessionId } from '@platform/contracts';
import { z } from 'zod';
import type { BlockDeps } from '../domain/blocks.js';
import { searchFullText, searchHybrid, searchVector } from '../domain/search.js';
import { authedProcedure, router } from '../trpc.js';
import { Block, embeddingSchema } from './wire.js';

const post = openApiMeta('search');
const meta = (path: `/${string}`, summary: string) => post('POST', path, summary);

const Filter = {
  types: z.array(BlockType).max(BlockType.options.length).optional(),
  sessionId: SessionId.optional(),
  statuses: z.array(BlockStatus).max(BlockStatus.options.length).optional(),
  limit: z.number().int().min(1).max(100).default(20),
};
const Query = z.string().trim().min(1).max(1_000);
const Weight = z.number().min(0).max(10);

const Hit = z.object({
  block: Block,
  score: z.number(),
  scores: z.object({ fullText: z.number().nullable(), vector: z.number().nullable(), graph: z.number().nullable() }),
  matchedBy: z.array(z.enum(['fullText', 'vector', 'graph'])),
  via: z.object({ blockId: BlockId, type: RelationshipType, direction: z.enum(['out', 'in']) }).nullable(),
});
const Hits = z.object({ hits: z.array(Hit) });

/**
 * Search procedures are tRPC queries sent as POST over REST; vector and hybrid carry an embedding
 * (hundreds of numbers), so they are mutations to keep it out of the URL of a tRPC GET.
 */
export function searchRouter(deps: BlockDeps & { embeddingDimensions: number }) {
  const Embedding = embeddingSchema(deps.embeddingDimensions);
  return router({
    fullText: authedProcedure
      .meta(meta('/search/full-text', 'Full-text search over title and content (input is plain text, never Lucene syntax)'))
      .input(z.strictObject({ query: Query, ...Filter }))
      .output(Hits)
      .query(async ({ ctx, input }) => ({ hits: await searchFullText(deps, ctx.principal, input) })),
    vector: authedProcedure
      .meta(meta('/search/vector', 'Nearest blocks to an embedding (cosine)'))
      .input(z.strictObject({ embedding: Embedding, ...Filter }))
      .output(Hits)
      .mutation(async ({ ctx, input }) => ({ hits: await searchVector(deps, ctx.principal, input) })),
    hybrid: authedProcedure
      .meta(meta('/search/hybrid', 'Weighted merge of full-text and vector, expanded one hop along links'))
      .input(
        z
          .strictObject({
            query: Query.optional(),
            embedding: Embedding.optional(),
            weights: z
              .strictObject({ fullText: Weight.default(0.5), vector: Weight.default(0.5), graph: Weight.default(0.3) })
              .prefault({}),
            expand: z.boolean().default(true),
            ...Filter,
          })
          .refine((i) => i.query !== undefined || i.embedding !== undefined, {
            message: 'give a query, an embedding or both',
            path: ['query'],
          }),
      )
      .output(Hits)
      .mutation(async ({ ctx, input }) => ({ hits: await searchHybrid(deps, ctx.principal, input) })),
  });
}
