import type { BlockDeps } from '../domain/blocks.js';
import { router } from '../trpc.js';
import { blocksRouter } from './blocks.js';

export interface KnowledgeDeps extends BlockDeps {
  /** Called after a committed write so the outbox relay publishes without waiting a tick. */
  afterWrite: () => void;
}

export function createKnowledgeRouter(deps: KnowledgeDeps) {
  return router({
    blocks: blocksRouter(deps),
  });
}

/** Imported with `import type` by other services' typed clients. */
export type KnowledgeRouter = ReturnType<typeof createKnowledgeRouter>;
