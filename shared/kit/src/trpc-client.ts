import { createTRPCClient, httpLink, type TRPCClient, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { traceHeaders } from './telemetry.js';

export interface ServiceClientOptions {
  /** Base URL of the other service, e.g. http://127.0.0.1:4101 (the client adds /trpc). */
  baseUrl: string;
  /** Returns a bearer token for each call (service token, or a user's token to forward). */
  getToken: () => Promise<string>;
  timeoutMs?: number;
}

/**
 * Typed client for another service's router. Each call carries a bearer token, the W3C
 * traceparent of the active span and a timeout, so no outbound call can hang forever.
 */
export function createServiceClient<TRouter extends AnyRouter>(opts: ServiceClientOptions): TRPCClient<TRouter> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  // Built for AnyRouter (no transformer) and narrowed: our routers use none, so the options are the same.
  const link = httpLink<AnyRouter>({
    url: `${opts.baseUrl.replace(/\/$/, '')}/trpc`,
    headers: async () => ({ authorization: `Bearer ${await opts.getToken()}`, ...traceHeaders() }),
    fetch: (url, init) => {
      const signal = init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
      return fetch(url, { ...init, signal } as RequestInit);
    },
  }) as unknown as TRPCLink<TRouter>;
  return createTRPCClient<TRouter>({ links: [link] });
}
