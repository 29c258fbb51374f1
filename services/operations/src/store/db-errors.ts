import { badRequest, conflict, DomainError } from '@platform/kit';
import pg from 'pg';

/**
 * Postgres facts carried by an error: node-postgres reports them directly; Prisma 7 with the pg driver
 * adapter (model and raw queries alike) puts the SQLSTATE and message under `meta.driverAdapterError.cause`.
 */
export interface PgFailure {
  sqlState: string;
  message: string;
  /** Name of the violated unique index or foreign key, when Postgres reports it. */
  constraint?: string;
}

export function pgFailure(err: unknown): PgFailure | null {
  // node-postgres directly (the event store's pool)
  if (err instanceof pg.DatabaseError && err.code) {
    return { sqlState: err.code, message: err.message, ...(err.constraint ? { constraint: err.constraint } : {}) };
  }
  const cause = (err as { meta?: { driverAdapterError?: { cause?: Record<string, unknown> } } } | null)?.meta?.driverAdapterError?.cause;
  if (!cause) return null;
  const sqlState =
    typeof cause['originalCode'] === 'string' ? cause['originalCode'] : typeof cause['code'] === 'string' ? cause['code'] : null;
  if (!sqlState) return null;
  const index = (cause['constraint'] as { index?: unknown } | undefined)?.index;
  return {
    sqlState,
    message: String(cause['originalMessage'] ?? cause['message'] ?? ''),
    ...(typeof index === 'string' ? { constraint: index } : {}),
  };
}

/** Deadlocks and serialization failures: the whole transaction may simply be run again. */
export const isRetryable = (err: unknown) => ['40001', '40P01'].includes(pgFailure(err)?.sqlState ?? '');

/**
 * The one place database errors become domain errors (and so tRPC codes). Anything else is rethrown
 * untouched and ends as INTERNAL_SERVER_ERROR without leaking SQL to the caller.
 */
export function toDomainError(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  const pg = pgFailure(err);
  if (!pg) return err;
  switch (pg.sqlState) {
    case '23505': // unique_violation (Prisma P2002 for model queries, P2010 for raw ones)
      return conflict(`already exists${pg.constraint ? ` (${pg.constraint})` : ''}`, { constraint: pg.constraint ?? null });
    case '23503': // foreign_key_violation: the referenced row does not exist (or is not visible)
      return badRequest(`references something that does not exist${pg.constraint ? ` (${pg.constraint})` : ''}`, {
        constraint: pg.constraint ?? null,
      });
    case '23514': // check_violation, also raised by our validation triggers with a readable message
    case '22P02': // invalid_text_representation
    case '22021': // character_not_in_repertoire (e.g. a NUL byte in text)
    case '22P05': // untranslatable_character (e.g. \u0000 inside jsonb)
    case '22003': // numeric_value_out_of_range
      return badRequest(pg.message);
    case '42501': // insufficient_privilege, incl. "new row violates row-level security policy"
      return new DomainError('FORBIDDEN', 'not allowed');
    case '40001':
    case '40P01':
      return conflict('concurrent update, try again');
    default:
      return err;
  }
}
