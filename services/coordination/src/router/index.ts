import type { JobDeps } from '../domain/jobs.js';
import { router } from '../trpc.js';
import { jobsRouter } from './jobs.js';

export type CoordinationDeps = JobDeps & { claimWaitMs: number };

export function createCoordinationRouter(deps: CoordinationDeps) {
  return router({
    jobs: jobsRouter(deps),
  });
}

/** Imported with `import type` by other services and the agent SDK. */
export type CoordinationRouter = ReturnType<typeof createCoordinationRouter>;
