import { BlockId, BlockStatus, BlockType, Confidence, SessionId } from '@platform/contracts';
import { z } from 'zod';
import { createBlock, getBlock, type BlockDeps } from '../domain/blocks.js';
import { authedProcedure, router } from '../trpc.js';

export const Block = z.object({
  id: BlockId,
  type: BlockType,
  sessionId: z.string(),
  title: z.string(),
  content: z.string(),
  status: BlockStatus,
  confidence: z.number(),
  version: z.number().int(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const CreateBlockInput = z.strictObject({
  type: BlockType,
  sessionId: SessionId,
  title: z.string().trim().min(1).max(500),
  content: z.string().max(100_000).default(''),
  status: BlockStatus.default('active'),
  confidence: Confidence.default(0.5),
});

export function blocksRouter(deps: BlockDeps & { afterWrite: () => void }) {
  return router({
    create: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/blocks/create', protect: true, tags: ['blocks'], summary: 'Create a block' } })
      .input(CreateBlockInput)
      .output(Block)
      .mutation(async ({ ctx, input }) => {
        const block = await createBlock(deps, ctx.principal, input);
        deps.afterWrite();
        return block;
      }),
    get: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/blocks/get', protect: true, tags: ['blocks'], summary: 'Get a block by id' } })
      .input(z.strictObject({ id: BlockId }))
      .output(Block)
      .query(({ input }) => getBlock(deps, input.id)),
  });
}
