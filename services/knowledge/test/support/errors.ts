import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';
import { z } from 'zod';

/** Awaits a call that must fail and returns its TRPCError after checking the code. */
export async function expectTrpcError(p: Promise<unknown>, code: TRPCError['code']): Promise<TRPCError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}, the call succeeded`).toBeInstanceOf(TRPCError);
  expect((err as TRPCError).code).toBe(code);
  return err as TRPCError;
}

/** Paths of the zod issues behind a BAD_REQUEST (empty when it was a domain refusal). */
export function zodPaths(err: TRPCError): string[] {
  return err.cause instanceof z.ZodError ? err.cause.issues.map((i) => i.path.join('.')) : [];
}
