import type { CoordinationDeps } from '../domain/deps.js';
import { router } from '../trpc.js';
import type { EnrolmentDeps } from '../domain/enrolment.js';
import { agentsRouter } from './agents.js';
import { enrolmentRouter } from './enrolment.js';
import { jobsRouter } from './jobs.js';
import { queuesRouter } from './queues.js';
import { schedulesRouter } from './schedules.js';

export function createCoordinationRouter(deps: CoordinationDeps, enrolment: EnrolmentDeps) {
  return router({
    agents: agentsRouter(deps),
    enrolment: enrolmentRouter(enrolment),
    jobs: jobsRouter(deps),
    queues: queuesRouter(deps),
    schedules: schedulesRouter(deps),
  });
}

/** Imported with `import type` by other services and the agent SDK. */
export type CoordinationRouter = ReturnType<typeof createCoordinationRouter>;
