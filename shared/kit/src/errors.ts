import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';

export type DomainErrorCode =
  'NOT_FOUND' | 'CONFLICT' | 'BAD_REQUEST' | 'FORBIDDEN' | 'UNAUTHORIZED' | 'PRECONDITION_FAILED' | 'SERVICE_UNAVAILABLE';

/** Errors the domain raises on purpose. One place (toTrpcError) maps them to the wire. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string, id: string) => new DomainError('NOT_FOUND', `${what} ${id} not found`, { id });
export const conflict = (message: string, details?: Record<string, unknown>) => new DomainError('CONFLICT', message, details);
export const badRequest = (message: string, details?: Record<string, unknown>) => new DomainError('BAD_REQUEST', message, details);

// Error codes meaning "a dependency could not be reached" (Node sockets, Postgres SQLSTATE
// classes 08/57P, Prisma P1001/P1017, neo4j-driver). Such failures answer 503 so callers retry.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
  'P1001',
  'P1017',
  'ServiceUnavailable',
  'SessionExpired',
]);
const UNAVAILABLE_MESSAGE =
  /connection terminated|connect ECONNREFUSED|can't reach database|timeout exceeded when trying to connect|Connection refused/i;

/** True when `err` (or anything in its cause chain) says a dependency is unreachable. */
export function isUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 6) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; originalCode?: unknown };
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (typeof e.originalCode === 'string' && UNAVAILABLE_CODES.has(e.originalCode)) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  return isUnavailable(e.cause, depth + 1);
}

export function toTrpcError(err: unknown): TRPCError {
  if (err instanceof TRPCError && err.code !== 'INTERNAL_SERVER_ERROR') return err;
  if (err instanceof TRPCError && err.cause && !isUnavailable(err.cause)) return err;
  if (err instanceof DomainError) return new TRPCError({ code: err.code as TRPC_ERROR_CODE_KEY, message: err.message, cause: err });
  if (err instanceof z.ZodError) return new TRPCError({ code: 'BAD_REQUEST', message: 'Invalid input', cause: err });
  if (isUnavailable(err))
    return new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'A dependency is unavailable; retry later',
      cause: err instanceof Error ? err : undefined,
    });
  if (err instanceof TRPCError) return err;
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal error', cause: err instanceof Error ? err : undefined });
}

/** Shape added to every tRPC error: the zod issues for bad input, the domain details otherwise. */
export function errorData(error: TRPCError): { zodIssues: z.core.$ZodIssue[] | null; details: Record<string, unknown> | null } {
  const cause = error.cause;
  return {
    zodIssues: cause instanceof z.ZodError ? cause.issues : null,
    details: cause instanceof DomainError ? (cause.details ?? null) : null,
  };
}
