import type { BlockDeps } from '../domain/blocks.js';
import { router } from '../trpc.js';
import { blocksRouter } from './blocks.js';
import { linksRouter } from './links.js';
import { searchRouter } from './search.js';
import { runChangesProcedure } from './run-feed.js';
import { runsRouter } from './runs.js';

/** What the router needs. No publishing hook: the store tells the outbox relay of each committed write (graph.outboxWritten). */
export interface KnowledgeDeps extends BlockDeps {
  /** Length every embedding must have (the vector index's dimension). */
  embeddingDimensions: number;
}

export function createKnowledgeRouter(deps: KnowledgeDeps) {
  return router({
    blocks: blocksRouter(deps),
    links: linksRouter(deps),
    search: searchRouter(deps),
    // runs.onChange (a subscription) lives in its own module, beside the queries and mutations.
    runs: router({ ...runsRouter(deps)._def.record, onChange: runChangesProcedure(deps) }),
  });
}

/** Imported with `import type` by other services' typed clients. */
export type KnowledgeRouter = ReturnType<typeof createKnowledgeRouter>;
