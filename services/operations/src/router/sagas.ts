import { z } from 'zod';
import { getWorkflow, listWorkflows, startWorkflow, type WorkflowDeps } from '../domain/workflows.js';
import type { SagaRow } from '../store/sagas.js';
import { authedProcedure, router } from '../trpc.js';
import { Cursor, Id, iso, isoOrNull, Limit, pageOf, toPage } from './wire.js';

export const SagaStatus = z.enum(['running', 'compensating', 'completed', 'compensated', 'failed']);
export const Workflow = z.object({
  id: z.uuid(),
  workflowType: z.string(),
  status: SagaStatus,
  currentStep: z.number().int(),
  payload: z.unknown(),
  outputs: z.record(z.string(), z.unknown()),
  stepLog: z.array(z.record(z.string(), z.unknown())),
  error: z.string().nullable(),
  startedBy: z.string(),
  idempotencyKey: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});

const toWorkflow = (s: SagaRow): z.infer<typeof Workflow> => ({
  id: s.id,
  workflowType: s.type,
  status: s.status,
  currentStep: s.currentStep,
  payload: s.payload,
  outputs: (s.outputs ?? {}) as Record<string, unknown>,
  stepLog: (s.stepLog ?? []) as Array<Record<string, unknown>>,
  error: s.error,
  startedBy: s.startedBy,
  idempotencyKey: s.idempotencyKey,
  createdAt: iso(s.createdAt),
  updatedAt: iso(s.updatedAt),
  finishedAt: isoOrNull(s.finishedAt),
});

export function workflowsRouter(deps: WorkflowDeps & { afterWrite: () => void }) {
  return router({
    start: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/workflows/start', protect: true, tags: ['workflows'], summary: 'Start a workflow (saga); an idempotency key makes a repeated start return the first one' } })
      .input(z.strictObject({ workflowType: z.string().trim().min(1).max(100), payload: z.unknown(), idempotencyKey: z.string().trim().min(1).max(200).optional() }))
      .output(Workflow.extend({ created: z.boolean() }))
      .mutation(async ({ ctx, input }) => {
        const saga = await startWorkflow(deps, ctx.principal, input);
        if (saga.created) deps.afterWrite();
        return { ...toWorkflow(saga), created: saga.created };
      }),
    get: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/workflows/get', protect: true, tags: ['workflows'], summary: 'A workflow the caller started, with its step log' } })
      .input(z.strictObject({ id: Id }))
      .output(Workflow)
      .query(async ({ ctx, input }) => toWorkflow(await getWorkflow(deps, ctx.principal, input.id))),
    list: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/workflows/list', protect: true, tags: ['workflows'], summary: 'Workflows the caller started, newest first' } })
      .input(z.strictObject({ workflowType: z.string().min(1).max(100).optional(), status: SagaStatus.optional(), cursor: Cursor, limit: Limit }))
      .output(pageOf(Workflow))
      .query(async ({ ctx, input }) => toPage(await listWorkflows(deps, ctx.principal, { type: input.workflowType, status: input.status, cursor: input.cursor, limit: input.limit }), toWorkflow)),
  });
}
