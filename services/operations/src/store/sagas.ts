import type { Prisma } from '../generated/prisma/client.js';
import { afterCursor, keysetOrder, toPage, type Page } from './pagination.js';
import type { SystemScope, UserScope } from './scope.js';

export type SagaStatusName = 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';

/** One line of a saga's step log: every attempt outcome, forward and compensating. */
export interface StepLogEntry {
  step: string;
  index: number;
  phase: 'action' | 'compensation';
  outcome: 'succeeded' | 'failed' | 'gave_up';
  attempt: number;
  at: string;
  ms: number;
  owner: string;
  error?: string;
}

export interface SagaRow {
  id: string;
  type: string;
  status: SagaStatusName;
  currentStep: number;
  payload: Prisma.JsonValue;
  outputs: Prisma.JsonValue;
  stepLog: Prisma.JsonValue;
  error: string | null;
  version: number;
  startedBy: string;
  idempotencyKey: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export function insertSaga(s: UserScope, data: { type: string; payload: Prisma.InputJsonValue; idempotencyKey?: string | undefined }): Promise<SagaRow> {
  return s.tx.sagaInstance.create({ data: { type: data.type, payload: data.payload, idempotencyKey: data.idempotencyKey ?? null, startedBy: s.userId, version: 1 } });
}

export function findSagaByKey(s: UserScope, idempotencyKey: string): Promise<SagaRow | null> {
  return s.tx.sagaInstance.findUnique({ where: { startedBy_idempotencyKey: { startedBy: s.userId, idempotencyKey } } });
}

export function findSaga(s: UserScope, id: string): Promise<SagaRow | null> {
  return s.tx.sagaInstance.findFirst({ where: { id, startedBy: s.userId } });
}

export async function listSagas(s: UserScope, f: { type?: string | undefined; status?: SagaStatusName | undefined; cursor?: string | undefined; limit: number }): Promise<Page<SagaRow>> {
  const rows = await s.tx.sagaInstance.findMany({
    where: { startedBy: s.userId, ...(f.type ? { type: f.type } : {}), ...(f.status ? { status: f.status } : {}), ...afterCursor(f.cursor) },
    orderBy: [...keysetOrder()],
    take: f.limit + 1,
  });
  return toPage(rows, f.limit);
}

/**
 * Takes the lease of up to `limit` unfinished sagas nobody holds (never leased, or lease expired),
 * oldest first. SKIP LOCKED lets replicas claim concurrently without waiting on each other, and the
 * conditional UPDATE means each saga goes to exactly one of them.
 */
export async function claimRunnable(s: SystemScope, owner: string, leaseMs: number, limit: number, types: readonly string[]): Promise<SagaRow[]> {
  if (limit <= 0 || types.length === 0) return [];
  const ids = await s.tx.$queryRaw<Array<{ id: string }>>`
    UPDATE saga_instances SET lease_owner = ${owner}, lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
    WHERE id IN (
      SELECT id FROM saga_instances
      WHERE status IN ('running', 'compensating') AND (lease_expires_at IS NULL OR lease_expires_at < now())
        AND type = ANY(${[...types]}::text[])
      ORDER BY created_at LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING id::text`;
  if (ids.length === 0) return [];
  return s.tx.sagaInstance.findMany({ where: { id: { in: ids.map((r) => r.id) } }, orderBy: { createdAt: 'asc' } });
}

export interface Progress {
  status: SagaStatusName;
  currentStep: number;
  /** Merged into outputs (a step's result under its name). */
  outputs?: Record<string, unknown>;
  log: StepLogEntry[];
  error?: string | null;
  finished?: boolean;
  /** New stream version (after this step's events were appended). */
  version: number;
}

/**
 * Records a step's outcome and renews the lease — only while `owner` still holds the lease and the
 * saga is at `expectedVersion` (fencing: a replica that lost its lease cannot overwrite the new
 * owner's progress). Returns false when that is no longer so.
 */
export async function persistProgress(s: SystemScope, id: string, owner: string, expectedVersion: number, p: Progress, leaseMs: number): Promise<boolean> {
  const n = await s.tx.$executeRaw`
    UPDATE saga_instances SET
      status = ${p.status}::"SagaStatus",
      current_step = ${p.currentStep},
      outputs = outputs || ${JSON.stringify(p.outputs ?? {})}::jsonb,
      step_log = step_log || ${JSON.stringify(p.log)}::jsonb,
      error = CASE WHEN ${p.error === undefined} THEN error ELSE ${p.error ?? null} END,
      version = ${p.version},
      finished_at = CASE WHEN ${p.finished === true} THEN now() ELSE finished_at END,
      lease_owner = CASE WHEN ${p.finished === true} THEN NULL ELSE lease_owner END,
      lease_expires_at = CASE WHEN ${p.finished === true} THEN NULL ELSE now() + make_interval(secs => ${leaseMs / 1000}) END
    WHERE id = ${id}::uuid AND lease_owner = ${owner} AND version = ${expectedVersion}`;
  return n === 1;
}

/** Extends the lease while a long step runs; false when another replica has taken it. */
export async function renewLease(s: SystemScope, id: string, owner: string, leaseMs: number): Promise<boolean> {
  const n = await s.tx.$executeRaw`
    UPDATE saga_instances SET lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
    WHERE id = ${id}::uuid AND lease_owner = ${owner} AND status IN ('running', 'compensating')`;
  return n === 1;
}

/** Gives a lease back (graceful shutdown), so another replica can resume without waiting it out. */
export async function releaseLease(s: SystemScope, id: string, owner: string): Promise<void> {
  await s.tx.$executeRaw`UPDATE saga_instances SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ${id}::uuid AND lease_owner = ${owner}`;
}
