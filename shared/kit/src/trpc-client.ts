import { createTRPCClient, httpBatchStreamLink, httpLink, type TRPCClient, type TRPCLink } from '@trpc/client';
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
  /**
   * Sends the calls made in the same tick as one HTTP request (up to `maxItems`, at most the
   * server's MAX_BATCH_CALLS), each answer streamed back as soon as it is ready, so a long poll in
   * the batch does not hold the others' answers. The calls of one batch share one token (the first
   * call's context chooses it): for clients that call as one identity (an agent), not for tokensFor.
   */
  batch?: { maxItems: number };
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
  const url = `${opts.baseUrl.replace(/\/$/, '')}/trpc`;
  // One controller for the link's own signal (tRPC aborts it when the call ends or is cancelled)
  // and the timeout: AbortSignal.any + AbortSignal.timeout cost a measurable share of a small call
  // (shared/kit/README.md). The timeout covers reading the body too; the call's end clears it.
  const fetchWithTimeout = (input: string | URL | Request, init?: RequestInit) => {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`The call timed out after ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
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
    return fetch(input, { ...init, signal: controller.signal } as RequestInit);
  };
  const link = (opts.batch
    ? httpBatchStreamLink<AnyRouter>({
        url,
        maxItems: opts.batch.maxItems,
        headers: async ({ opList }) => ({ authorization: `Bearer ${await opts.getToken(opList[0]?.context ?? {})}`, ...traceHeaders() }),
        fetch: fetchWithTimeout,
      })
    : httpLink<AnyRouter>({
        url,
        headers: async ({ op }) => ({ authorization: `Bearer ${await opts.getToken(op.context)}`, ...traceHeaders() }),
        fetch: fetchWithTimeout,
      })) as unknown as TRPCLink<TRouter>;
  return createTRPCClient<TRouter>({ links: [link] });
}
