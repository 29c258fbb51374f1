import { createTRPCClient, httpBatchLink, httpLink, type TRPCClient, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { HttpStatusError, platformRetryLink, retryPolicy, type RetryOptions } from './retry.js';
import type { PlatformRouters, ServiceName } from './routers.js';

export interface PlatformClientOptions<S extends ServiceName = ServiceName> {
  /** Which service: decides the client's procedures and types. */
  service: S;
  /** The service's base URL, e.g. `http://knowledge:4101` (the client adds `/trpc`). */
  url: string;
  /**
   * Returns the bearer token. Called for every HTTP request (each retry too), so a provider that
   * caches and refreshes its token is all a long-lived client needs.
   */
  token: () => string | Promise<string>;
  /** Limit for one HTTP request, response body included; each retry gets its own. Default 10 000 ms. */
  timeoutMs?: number;
  /** Retries of queries after transient failures: a count, or the full policy. Default 2. Mutations are never retried. */
  retries?: number | RetryOptions;
  /**
   * Calls made in the same tick go in one HTTP request (tRPC batching), at most `maxItems` (the
   * services refuse batches over MAX_BATCH_CALLS, default 20). `false`: one request per call.
   */
  batch?: false | { maxItems?: number };
  /** Extra headers for every request (e.g. W3C `traceparent`). Authorization always comes from `token`. */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
}

export type PlatformClient<S extends ServiceName> = TRPCClient<PlatformRouters[S]>;

export const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_BATCH_ITEMS = 20;

/**
 * A typed tRPC client for one platform service:
 *
 * ```ts
 * const knowledge = createPlatformClient({ service: 'knowledge', url, token: () => tokens.get() });
 * const block = await knowledge.blocks.get.query({ id });
 * ```
 */
export function createPlatformClient<S extends ServiceName>(opts: PlatformClientOptions<S>): PlatformClient<S> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  const policy = retryPolicy(opts.retries);
  const baseFetch = opts.fetch ?? globalThis.fetch;
  const url = `${opts.url.replace(/\/+$/, '')}/trpc`;

  const headers = async (): Promise<Record<string, string>> => {
    const token = await opts.token();
    // An empty token would go out as `Bearer ` and come back as a 401 that hides the real fault.
    if (typeof token !== 'string' || token.trim() === '') throw new Error('the token provider returned no token');
    return { ...(await opts.headers?.()), authorization: `Bearer ${token}` };
  };

  const timedFetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const res = await baseFetch(input, { ...init, signal });
    // tRPC errors come as JSON and tRPC reads them; anything else (a proxy's error page) would
    // only surface as "not JSON", so its status is kept for the retry decision and the message.
    if (!res.ok && !/json/i.test(res.headers.get('content-type') ?? '')) {
      throw new HttpStatusError(res.status, res.headers.get('retry-after'), await res.text().catch(() => ''));
    }
    return res;
  };

  // Built for AnyRouter and narrowed: the services use no transformer, so the options are the same for all three.
  const terminating =
    opts.batch === false
      ? httpLink<AnyRouter>({ url, headers, fetch: timedFetch })
      : httpBatchLink<AnyRouter>({ url, headers, fetch: timedFetch, maxItems: opts.batch?.maxItems ?? DEFAULT_BATCH_ITEMS });
  const links = [platformRetryLink(policy), terminating] as unknown as TRPCLink<PlatformRouters[S]>[];
  return createTRPCClient<PlatformRouters[S]>({ links });
}

type ServiceClientOptions = Omit<PlatformClientOptions, 'service'>;
export const createKnowledgeClient = (opts: ServiceClientOptions): PlatformClient<'knowledge'> =>
  createPlatformClient({ ...opts, service: 'knowledge' });
export const createOperationsClient = (opts: ServiceClientOptions): PlatformClient<'operations'> =>
  createPlatformClient({ ...opts, service: 'operations' });
export const createCoordinationClient = (opts: ServiceClientOptions): PlatformClient<'coordination'> =>
  createPlatformClient({ ...opts, service: 'coordination' });
