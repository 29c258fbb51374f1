import type { Prisma } from '../generated/prisma/client.js';
import { afterCursor, keysetOrder, toPage, type Page } from './pagination.js';
import type { UserScope } from './scope.js';
import type { SqlRunner } from './sql.js';

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

export function insertSaga(
  s: UserScope,
  data: { type: string; payload: Prisma.InputJsonValue; idempotencyKey?: string | undefined },
): Promise<SagaRow> {
  return s.tx.sagaInstance.create({
    data: { type: data.type, payload: data.payload, idempotencyKey: data.idempotencyKey ?? null, startedBy: s.userId, version: 1 },
  });
}

export function findSagaByKey(s: UserScope, idempotencyKey: string): Promise<SagaRow | null> {
  return s.tx.sagaInstance.findUnique({ where: { startedBy_idempotencyKey: { startedBy: s.userId, idempotencyKey } } });
}

export function findSaga(s: UserScope, id: string): Promise<SagaRow | null> {
  return s.tx.sagaInstance.findFirst({ where: { id, startedBy: s.userId } });
}

export async function listSagas(
  s: UserScope,
  f: { type?: string | undefined; status?: SagaStatusName | undefined; cursor?: string | undefined; limit: number },
): Promise<Page<SagaRow>> {
  const rows = await s.tx.sagaInstance.findMany({
    where: {
      startedBy: s.userId,
      ...(f.type ? { type: f.type } : {}),
      ...(f.status ? { status: f.status } : {}),
      ...afterCursor(f.cursor),
    },
    orderBy: [...keysetOrder()],
    take: f.limit + 1,
  });
  return toPage(rows, f.limit);
}

// ---------------------------------------------------------------------------------------------------
// The orchestrator's side (system actor `saga-orchestrator`, on the node-postgres pool: these run per
// step, so they are the saga hot path)
// ---------------------------------------------------------------------------------------------------

interface SagaDbRow {
  id: string;
  type: string;
  status: SagaStatusName;
  current_step: number;
  payload: Prisma.JsonValue;
  outputs: Prisma.JsonValue;
  step_log: Prisma.JsonValue;
  error: string | null;
  version: number;
  started_by: string;
  idempotency_key: string | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const fromDb = (r: SagaDbRow): SagaRow => ({
  id: r.id,
  type: r.type,
  status: r.status,
  currentStep: r.current_step,
  payload: r.payload,
  outputs: r.outputs,
  stepLog: r.step_log,
  error: r.error,
  version: r.version,
  startedBy: r.started_by,
  idempotencyKey: r.idempotency_key,
  leaseOwner: r.lease_owner,
  leaseExpiresAt: r.lease_expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

/**
 * Takes the lease of up to `limit` unfinished sagas nobody holds (never leased, or lease expired),
 * oldest first. SKIP LOCKED lets replicas claim concurrently without waiting on each other, and the
 * conditional UPDATE means each saga goes to exactly one of them.
 */
export async function claimRunnable(
  sql: SqlRunner,
  owner: string,
  leaseMs: number,
  limit: number,
  types: readonly string[],
): Promise<SagaRow[]> {
  if (limit <= 0 || types.length === 0) return [];
  const rows = await sql.query<SagaDbRow>(
    `UPDATE saga_instances SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2)
     WHERE id IN (
       SELECT id FROM saga_instances
       WHERE status IN ('running', 'compensating') AND (lease_expires_at IS NULL OR lease_expires_at < now())
         AND type = ANY($3::text[])
       ORDER BY created_at LIMIT $4
       FOR UPDATE SKIP LOCKED)
     RETURNING id::text, type, status, current_step, payload, outputs, step_log, error, version, started_by, idempotency_key,
               lease_owner, lease_expires_at, created_at, updated_at, finished_at`,
    [owner, leaseMs / 1000, [...types], limit],
    'saga_claim',
  );
  return rows.map(fromDb).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
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
export async function persistProgress(
  sql: SqlRunner,
  id: string,
  owner: string,
  expectedVersion: number,
  p: Progress,
  leaseMs: number,
): Promise<boolean> {
  const rows = await sql.query<{ id: string }>(
    `UPDATE saga_instances SET
       status = $4::"SagaStatus",
       current_step = $5,
       outputs = outputs || $6::jsonb,
       step_log = step_log || $7::jsonb,
       error = CASE WHEN $8::boolean THEN $9::text ELSE error END,
       version = $10,
       finished_at = CASE WHEN $11::boolean THEN now() ELSE finished_at END,
       lease_owner = CASE WHEN $11::boolean THEN NULL ELSE lease_owner END,
       lease_expires_at = CASE WHEN $11::boolean THEN NULL ELSE now() + make_interval(secs => $12) END
     WHERE id = $1::uuid AND lease_owner = $2 AND version = $3
     RETURNING id`,
    [
      id,
      owner,
      expectedVersion,
      p.status,
      p.currentStep,
      JSON.stringify(p.outputs ?? {}),
      JSON.stringify(p.log),
      p.error !== undefined,
      p.error ?? null,
      p.version,
      p.finished === true,
      leaseMs / 1000,
    ],
    'saga_persist',
  );
  return rows.length === 1;
}

/**
 * Extends the leases `owner` holds among `ids` (every saga one replica runs) in one statement; returns
 * the ids it still holds. An id left out was taken by another replica or is no longer running.
 */
export async function renewLeases(sql: SqlRunner, ids: readonly string[], owner: string, leaseMs: number): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await sql.query<{ id: string }>(
    `UPDATE saga_instances SET lease_expires_at = now() + make_interval(secs => $3)
     WHERE id = ANY($1::uuid[]) AND lease_owner = $2 AND status IN ('running', 'compensating') RETURNING id::text`,
    [[...ids], owner, leaseMs / 1000],
    'saga_renew_leases',
  );
  return new Set(rows.map((r) => r.id));
}

/** Gives a lease back (graceful shutdown), so another replica can resume without waiting it out. */
export async function releaseLease(sql: SqlRunner, id: string, owner: string): Promise<void> {
  await sql.query(`UPDATE saga_instances SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1::uuid AND lease_owner = $2`, [
    id,
    owner,
  ]);
}
