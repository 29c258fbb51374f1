import { TRPCClientError } from '@trpc/client';

/** The tRPC error code of a failed call (NOT_FOUND, CONFLICT, …), if it was one. */
export const codeOf = (err: unknown): string | undefined =>
  err instanceof TRPCClientError ? (err.data as { code?: string } | undefined)?.code : undefined;
export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Waits `ms`, or less if `signal` aborts; the listener goes with the timer (loops call this forever). */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
