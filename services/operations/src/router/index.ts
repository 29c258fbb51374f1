import type { ApprovalDeps } from '../domain/approvals.js';
import type { TaskDeps } from '../domain/tasks.js';
import type { SagaDeps } from '../domain/saga-instances.js';
import { router } from '../trpc.js';
import { agentsRouter } from './agents.js';
import { approvalsRouter } from './approvals.js';
import { conversationsRouter, messagesRouter } from './conversations.js';
import { eventsRouter } from './events.js';
import { memoriesRouter } from './memories.js';
import { sessionsRouter } from './sessions.js';
import { tasksRouter } from './tasks.js';
import { teamsRouter } from './teams.js';
import { usersRouter } from './users.js';
import { sagasRouter } from './sagas.js';

/**
 * What the router needs. No publishing hook: Postgres tells the outbox relay of every committed
 * outbox insert (trigger NOTIFY → store/write-listener.ts), so a procedure only validates, calls the
 * domain and shapes the answer.
 */
export type OperationsDeps = TaskDeps & ApprovalDeps & SagaDeps;

export function createOperationsRouter(deps: OperationsDeps) {
  return router({
    users: usersRouter(deps),
    teams: teamsRouter(deps),
    sessions: sessionsRouter(deps),
    tasks: tasksRouter(deps),
    approvals: approvalsRouter(deps),
    conversations: conversationsRouter(deps),
    messages: messagesRouter(deps),
    agents: agentsRouter(deps),
    memories: memoriesRouter(deps),
    events: eventsRouter(deps),
    sagas: sagasRouter(deps),
  });
}

/** Imported with `import type` by other services' typed clients. */
export type OperationsRouter = ReturnType<typeof createOperationsRouter>;
