import { openApiMeta } from '@platform/kit';
import { z } from 'zod';
import { getSaga, listSagaPage, startSaga, type SagaDeps } from '../domain/saga-instances.js';
import type { SagaRow } from '../store/sagas.js';
import { authedProcedure, router } from '../trpc.js';
import { Cursor, Id, iso, isoOrNull, Limit, pageOf, toPage } from './wire.js';

const meta = openApiMeta('sagas');

export const SagaStatus = z.enum(['running', 'compensating', 'completed', 'compensated', 'failed']);
export const Saga = z.object({
  id: z.uuid(),
  sagaType: z.string(),
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

const toSaga = (s: SagaRow): z.infer<typeof Saga> => ({
  id: s.id,
  sagaType: s.type,
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

export function sagasRouter(deps: SagaDeps) {
  return router({
    start: authedProcedure
      .meta(meta('POST', '/sagas/start', 'Start a saga; an idempotency key makes a repeated start return the first one'))
      .input(
        z.strictObject({
          sagaType: z.string().trim().min(1).max(100),
          payload: z.unknown(),
          idempotencyKey: z.string().trim().min(1).max(200).optional(),
        }),
      )
      .output(Saga.extend({ created: z.boolean() }))
      .mutation(async ({ ctx, input }) => {
        const saga = await startSaga(deps, ctx.principal, input);
        return { ...toSaga(saga), created: saga.created };
      }),
    get: authedProcedure
      .meta(meta('GET', '/sagas/get', 'A saga the caller started, with its step log'))
      .input(z.strictObject({ id: Id }))
      .output(Saga)
      .query(async ({ ctx, input }) => toSaga(await getSaga(deps, ctx.principal, input.id))),
    list: authedProcedure
      .meta(meta('GET', '/sagas/list', 'Sagas the caller started, newest first'))
      .input(
        z.strictObject({ sagaType: z.string().min(1).max(100).optional(), status: SagaStatus.optional(), cursor: Cursor, limit: Limit }),
      )
      .output(pageOf(Saga))
      .query(async ({ ctx, input }) =>
        toPage(
          await listSagaPage(deps, ctx.principal, { type: input.sagaType, status: input.status, cursor: input.cursor, limit: input.limit }),
          toSaga,
        ),
      ),
  });
}
