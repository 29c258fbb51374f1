// The three services' router types. In the repository they come straight from the services; the
// build replaces this module's declaration (dist/routers.d.ts) with a self-contained one generated
// from the same types (build/router-types.ts), so a published install needs no server package.
import type { CoordinationRouter } from '@platform/coordination/router';
import type { KnowledgeRouter } from '@platform/knowledge/router';
import type { OperationsRouter } from '@platform/operations/router';

export type { CoordinationRouter, KnowledgeRouter, OperationsRouter };

/** The three routers by service name. */
export interface PlatformRouters {
  knowledge: KnowledgeRouter;
  operations: OperationsRouter;
  coordination: CoordinationRouter;
}
export type ServiceName = keyof PlatformRouters;
