import type { Principal } from '@platform/contracts';
import { badRequest, createEnvelope, notFound } from '@platform/kit';
import { appendToStream } from '../store/event-store.js';
import { appendOutbox } from '../store/outbox.js';
import type { Page } from '../store/pagination.js';
import { findSaga, findSagaByKey, insertSaga, listSagas, type SagaRow, type SagaStatusName } from '../store/sagas.js';
import { asUser } from '../store/scope.js';
import type { CoreDeps } from './deps.js';
import type { SagaRegistry } from './sagas/definition.js';

export interface SagaDeps extends CoreDeps {
  registry: SagaRegistry;
  /** Wakes the local orchestrator after a start committed. */
  pokeSagas: () => void;
}

/**
 * Starts a saga: validates the payload against the type's schema, stores the instance with its
 * SagaStarted event and an outbox row in one transaction; the orchestrator picks it up. With an
 * idempotency key, starting again returns the saga the first call created (per caller).
 */
export async function startSaga(
  deps: SagaDeps,
  principal: Principal,
  input: { sagaType: string; payload: unknown; idempotencyKey?: string | undefined },
): Promise<SagaRow & { created: boolean }> {
  const def = deps.registry.get(input.sagaType);
  if (!def) throw badRequest(`unknown saga type ${input.sagaType}`, { known: deps.registry.types });
  const payload = def.payload.parse(input.payload) as object; // a ZodError becomes BAD_REQUEST with its issues
  const result = await asUser(
    deps.db,
    principal,
    async (s) => {
      if (input.idempotencyKey) {
        const existing = await findSagaByKey(s, input.idempotencyKey);
        if (existing) return { ...existing, created: false };
      }
      const saga = await insertSaga(s, { type: def.type, payload, idempotencyKey: input.idempotencyKey });
      await appendToStream(
        { tx: s.tx, reader: deps.sql },
        saga.id,
        'saga',
        [{ type: 'SagaStarted', data: { sagaType: def.type, payload, startedBy: principal.id } }],
        'no_stream',
        { now: deps.clock() },
      );
      const data = {
        sagaId: saga.id,
        sagaType: saga.type,
        status: saga.status,
        currentStep: 0,
        startedBy: principal.id,
        error: null,
        version: 1,
      };
      await appendOutbox(s.tx, createEnvelope('operations', 'operations.saga.started', data, deps));
      // The saga is at its first step from now on (the orchestrator runs it next): its step event says so.
      const first = {
        sagaId: saga.id,
        sagaType: saga.type,
        startedBy: principal.id,
        version: 1,
        index: 0,
        name: def.steps[0]!.name,
        phase: 'action' as const,
        status: 'running' as const,
        attempt: 0,
        error: null,
      };
      await appendOutbox(s.tx, createEnvelope('operations', 'operations.saga.step.changed', first, deps));
      return { ...saga, created: true };
    },
    { write: true },
  ).catch(async (err: unknown) => {
    // Two concurrent starts with one key: the loser's unique violation means the winner's saga exists.
    if (input.idempotencyKey && (err as { code?: string }).code === 'CONFLICT') {
      const existing = await asUser(deps.db, principal, (s) => findSagaByKey(s, input.idempotencyKey!));
      if (existing) return { ...existing, created: false };
    }
    throw err;
  });
  if (result.created) deps.pokeSagas();
  return result;
}

export function getSaga(deps: CoreDeps, principal: Principal, id: string): Promise<SagaRow> {
  return asUser(deps.db, principal, async (s) => {
    const saga = await findSaga(s, id);
    if (!saga) throw notFound('saga', id);
    return saga;
  });
}

export function listSagaPage(
  deps: CoreDeps,
  principal: Principal,
  f: { type?: string | undefined; status?: SagaStatusName | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<SagaRow>> {
  return asUser(deps.db, principal, (s) => listSagas(s, f));
}
