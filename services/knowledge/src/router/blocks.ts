import { openApiMeta } from '@platform/kit';
import { BlockId, BlockStatus, BlockType, Confidence, EditableBlockStatus, IsoDateTime, SessionId } from '@platform/contracts';
import { z } from 'zod';
import {
  archiveBlock,
  createBlock,
  createBlocks,
  getBlock,
  listBlockPage,
  supersedeBlock,
  updateBlock,
  type BlockDeps,
} from '../domain/blocks.js';
import { authedProcedure, router } from '../trpc.js';
import { AbstractionLevel, Block, blockFields, Content, createBlockInput, embeddingSchema, IdeaId, JsonObject, Title } from './wire.js';

export { Block } from './wire.js';

export interface BlocksRouterDeps extends BlockDeps {
  embeddingDimensions: number;
}

const meta = openApiMeta('blocks');

export function blocksRouter(deps: BlocksRouterDeps) {
  const CreateBlockInput = createBlockInput(deps.embeddingDimensions);
  const UpdatePatch = z
    .strictObject({
      title: Title.optional(),
      content: Content.optional(),
      status: EditableBlockStatus.optional(),
      confidence: Confidence.optional(),
      properties: JsonObject.optional(),
      abstractionLevel: AbstractionLevel.nullable().optional(),
      ideaId: IdeaId.nullable().optional(),
      embedding: embeddingSchema(deps.embeddingDimensions).nullable().optional(),
    })
    .refine((p) => Object.values(p).some((v) => v !== undefined), 'patch must change at least one field');

  return router({
    create: authedProcedure
      .meta(meta('POST', '/blocks/create', 'Create a block'))
      .input(CreateBlockInput)
      .output(Block)
      .mutation(({ ctx, input }) => createBlock(deps, ctx.principal, input)),
    createMany: authedProcedure
      .meta(meta('POST', '/blocks/create-many', 'Create up to 500 blocks in one transaction'))
      .input(z.strictObject({ blocks: z.array(CreateBlockInput).min(1).max(500) }))
      .output(z.object({ blocks: z.array(Block) }))
      .mutation(async ({ ctx, input }) => ({ blocks: await createBlocks(deps, ctx.principal, input.blocks) })),
    get: authedProcedure
      .meta(meta('GET', '/blocks/get', 'Get a block by id'))
      .input(z.strictObject({ id: BlockId }))
      .output(Block)
      .query(({ ctx, input }) => getBlock(deps, ctx.principal, input.id)),
    update: authedProcedure
      .meta(meta('POST', '/blocks/update', 'Update a block (optimistic: pass the version you read)'))
      .input(z.strictObject({ id: BlockId, expectedVersion: z.number().int().min(1), patch: UpdatePatch }))
      .output(Block)
      .mutation(({ ctx, input }) => updateBlock(deps, ctx.principal, input)),
    supersede: authedProcedure
      .meta(meta('POST', '/blocks/supersede', 'Replace a block: new block REPLACES old, old validity closed'))
      .input(
        z.strictObject({
          id: BlockId,
          expectedVersion: z.number().int().min(1).optional(),
          reason: z.string().max(2_000).optional(),
          replacement: z.strictObject({
            type: BlockType.optional(),
            status: EditableBlockStatus.default('active'),
            ...blockFields(deps.embeddingDimensions),
          }),
        }),
      )
      .output(z.object({ old: Block, replacement: Block }))
      .mutation(({ ctx, input }) => supersedeBlock(deps, ctx.principal, input)),
    archive: authedProcedure
      .meta(meta('POST', '/blocks/archive', 'Archive a block (never deleted; validity closed)'))
      .input(z.strictObject({ id: BlockId, expectedVersion: z.number().int().min(1).optional() }))
      .output(Block)
      .mutation(({ ctx, input }) => archiveBlock(deps, ctx.principal, input)),
    list: authedProcedure
      .meta(meta('GET', '/blocks/list', 'List blocks by type, session, status, idea or validity time, paged by cursor'))
      .input(
        z.strictObject({
          type: BlockType.optional(),
          sessionId: SessionId.optional(),
          status: BlockStatus.optional(),
          ideaId: IdeaId.optional(),
          validAt: IsoDateTime.optional(),
          cursor: z.string().min(1).max(1_000).optional(),
          limit: z.number().int().min(1).max(200).default(50),
        }),
      )
      .output(z.object({ items: z.array(Block), nextCursor: z.string().nullable() }))
      .query(({ ctx, input }) => listBlockPage(deps, ctx.principal, input)),
  });
}
