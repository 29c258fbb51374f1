import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';

export type DomainErrorCode =
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'BAD_REQUEST'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'PRECONDITION_FAILED'
  | 'SERVICE_UNAVAILABLE';

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
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new DomainError('BAD_REQUEST', message, details);

export function toTrpcError(err: unknown): TRPCError {
  if (err instanceof TRPCError) return err;
  if (err instanceof DomainError) return new TRPCError({ code: err.code as TRPC_ERROR_CODE_KEY, message: err.message, cause: err });
  if (err instanceof z.ZodError) return new TRPCError({ code: 'BAD_REQUEST', message: 'Invalid input', cause: err });
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
