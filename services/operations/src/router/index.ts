import type { TaskDeps } from '../domain/tasks.js';
import { router } from '../trpc.js';
import { tasksRouter } from './tasks.js';

export interface OperationsDeps extends TaskDeps {
  afterWrite: () => void;
}

export function createOperationsRouter(deps: OperationsDeps) {
  return router({
    tasks: tasksRouter(deps),
  });
}

/** Imported with `import type` by other services' typed clients. */
export type OperationsRouter = ReturnType<typeof createOperationsRouter>;
