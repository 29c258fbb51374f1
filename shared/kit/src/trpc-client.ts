import { createTRPCClient, httpLink, type TRPCClient, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { traceHeaders } from './telemetry.js';
import { Principal } from '@platform/contracts';
import type { ServiceTokens } from './token-issuer.js';

export interface ServiceClientOptions {
  /** Base URL of the other service, e.g. http://127.0.0.1:4101 (the client adds /trpc). */
  baseUrl: string;
  /**
   * Returns a bearer token for each call: the service's own, or one on a caller's behalf. Gets the
   * call's context (`client.x.query(input, { context: { asPrincipal } })`) to choose.
   */
  getToken: (context: Record<string, unknown>) => Promise<string>;
  timeoutMs?: number;
}

/**
 * Typed client for another service's router. Each call carries a bearer token, the W3C
 * traceparent of the active span and a timeout, so no outbound call can hang forever.
 */
/** The call context that makes a client built with `tokensFor` call as `principal` (see ServiceTokens.onBehalfOf). */
export const asPrincipal = (principal: Principal) => ({ context: { asPrincipal: principal } });

/** getToken for createServiceClient: on behalf of the call's `asPrincipal` when given, else the service itself. */
export function tokensFor(tokens: ServiceTokens): ServiceClientOptions['getToken'] {
  return (context) => {
    const p = Principal.safeParse(context['asPrincipal']);
    return p.success ? tokens.onBehalfOf(p.data) : tokens.own();
  };
}

export function createServiceClient<TRouter extends AnyRouter>(opts: ServiceClientOptions): TRPCClient<TRouter> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  // Built for AnyRouter (no transformer) and narrowed: our routers use none, so the options are the same.
  const link = httpLink<AnyRouter>({
    url: `${opts.baseUrl.replace(/\/$/, '')}/trpc`,
    headers: async ({ op }) => ({ authorization: `Bearer ${await opts.getToken(op.context)}`, ...traceHeaders() }),
    // One controller for the link's own signal (tRPC aborts it when the call ends or is cancelled)
    // and the timeout: AbortSignal.any + AbortSignal.timeout cost a measurable share of a small call
    // (shared/kit/README.md). The timeout covers reading the body too; the call's end clears it.
    fetch: (url, init) => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new DOMException(`The call timed out after ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
      timer.unref();
      const outer = init?.signal;
      if (outer) {
        const end = () => {
          clearTimeout(timer);
          controller.abort(outer.reason);
        };
        if (outer.aborted) end();
        else outer.addEventListener('abort', end, { once: true });
      }
      return fetch(url, { ...init, signal: controller.signal } as RequestInit);
    },
  }) as unknown as TRPCLink<TRouter>;
  return createTRPCClient<TRouter>({ links: [link] });
}
