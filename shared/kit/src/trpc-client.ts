import {
  createTRPCClient,
  createTRPCClientProxy,
  httpBatchStreamLink,
  httpLink,
  TRPCClientError,
  TRPCUntypedClient,
  type TRPCClient,
  type OperationLink,
  type TRPCLink,
  type TRPCRequestOptions,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { transformResult } from '@trpc/server/unstable-core-do-not-import';
import { context, propagation } from '@opentelemetry/api';
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

/** The call context that makes a client built with `tokensFor` call as `principal` (see ServiceTokens.onBehalfOf). */
export const asPrincipal = (principal: Principal) => ({ context: { asPrincipal: principal } });

/** getToken for createServiceClient: on behalf of the call's `asPrincipal` when given, else the service itself. */
export function tokensFor(tokens: ServiceTokens): ServiceClientOptions['getToken'] {
  return (context) => {
    const p = Principal.safeParse(context['asPrincipal']);
    return p.success ? tokens.onBehalfOf(p.data) : tokens.own();
  };
}

/** Batch links kept per client, one per trace with calls in flight or recently made. */
const MAX_TRACE_BATCHERS = 256;

/** Our routers use no transformer: what tRPC's client uses then (getTransformer(undefined).output). */
const noTransformer = { serialize: (data: unknown) => data, deserialize: (data: unknown) => data };

const timeoutError = (timeoutMs: number) => new DOMException(`The call timed out after ${timeoutMs} ms`, 'TimeoutError');

/**
 * One query or mutation in its own HTTP request, as tRPC's httpLink sends it and as
 * `client.x.query()`/`.mutate()` hands it back, without the link chain around it.
 *
 * Through createTRPCClient every call goes through an observable chain (createChain, share,
 * observableToPromise), the link's option objects and two AbortControllers raced together, and
 * observableToPromise aborts a controller at the end of every successful call, which builds a
 * DOMException each time: a measured share of a small call's CPU (shared/kit/README.md). Here the
 * request is the same on the wire (GET `/trpc/<path>?input=<JSON>` or POST `/trpc/<path>` with the
 * JSON body and `content-type: application/json`, the bearer token and the trace headers), the
 * answer goes through tRPC's own `transformResult`, and every failure is the TRPCClientError tRPC's
 * link would throw (`TRPCClientError.from(cause, { meta })`: `data`, `shape` and `meta.response`
 * as before). One AbortController serves the caller's signal and the timeout; the timeout covers
 * reading the body too and is cleared when the call ends.
 */
class SingleCallClient extends TRPCUntypedClient<AnyRouter> {
  constructor(
    links: TRPCLink<AnyRouter>[],
    private readonly url: string,
    private readonly getToken: ServiceClientOptions['getToken'],
    private readonly timeoutMs: number,
  ) {
    super({ links });
  }

  override query(path: string, input?: unknown, opts?: TRPCRequestOptions): Promise<unknown> {
    return this.call('GET', path, input, opts);
  }

  override mutation(path: string, input?: unknown, opts?: TRPCRequestOptions): Promise<unknown> {
    return this.call('POST', path, input, opts);
  }

  private async call(method: 'GET' | 'POST', path: string, input: unknown, opts: TRPCRequestOptions | undefined): Promise<unknown> {
    const outer = opts?.signal ?? undefined;
    let meta: { response: Response; responseJSON: unknown } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const controller = new AbortController();
    // The caller's abort ends the call as tRPC's link ends it: an AbortError without the caller's reason.
    const onAbort = () => controller.abort();
    try {
      if (outer) {
        if (outer.aborted) controller.abort();
        else outer.addEventListener('abort', onAbort, { once: true });
      }
      controller.signal.throwIfAborted();
      const json = input === undefined ? undefined : JSON.stringify(input);
      const headers: Record<string, string> =
        method === 'POST'
          ? { 'content-type': 'application/json', authorization: `Bearer ${await this.getToken(opts?.context ?? {})}` }
          : { authorization: `Bearer ${await this.getToken(opts?.context ?? {})}` };
      propagation.inject(context.active(), headers); // traceparent/tracestate of the active span, if any
      const url = method === 'GET' && json !== undefined ? `${this.url}/${path}?input=${encodeURIComponent(json)}` : `${this.url}/${path}`;
      const timeoutMs = this.timeoutMs;
      timer = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
      timer.unref();
      const response = await fetch(url, { method, headers, body: method === 'POST' ? json : undefined, signal: controller.signal });
      const body: unknown = await response.json();
      // As with httpLink, an error carries `meta` only once the answer was read as JSON.
      meta = { response, responseJSON: body };
      const transformed = transformResult(body as Parameters<typeof transformResult>[0], noTransformer);
      if (!transformed.ok) throw TRPCClientError.from(transformed.error, { meta });
      return transformed.result.data;
    } catch (cause) {
      throw TRPCClientError.from(cause as Error, meta ? { meta } : {});
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * Typed client for another service's router. Each call carries a bearer token, the W3C
 * traceparent of the active span and a timeout, so no outbound call can hang forever.
 */
export function createServiceClient<TRouter extends AnyRouter>(opts: ServiceClientOptions): TRPCClient<TRouter> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  // Built for AnyRouter (no transformer) and narrowed: our routers use none, so the options are the same.
  const url = `${opts.baseUrl.replace(/\/$/, '')}/trpc`;
  // For the links (batches, and anything asked of the untyped client's $request): one controller for
  // the link's own signal and the timeout, as in SingleCallClient.
  const fetchWithTimeout = (input: string | URL | Request, init?: RequestInit) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
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
  if (opts.batch) {
    const { maxItems } = opts.batch;
    // A batch is one HTTP request with one traceparent header, so calls of different traces must
    // not share one: each would be recorded in the trace of whichever call opened the batch (an
    // agent's job report riding in a claim's request lost its job's trace). Calls are batched per
    // trace: one batch link per traceparent, taken when the call is made (in the caller's context),
    // the least recently used dropped beyond MAX_TRACE_BATCHERS (a dropped one still sends what it holds).
    const byTrace: TRPCLink<AnyRouter> = (runtime) => {
      const batchers = new Map<string, OperationLink<AnyRouter>>();
      const batcherFor = (trace: Record<string, string>) => {
        const key = trace['traceparent'] ?? '';
        let batcher = batchers.get(key);
        if (batcher) batchers.delete(key);
        else
          batcher = httpBatchStreamLink<AnyRouter>({
            url,
            maxItems,
            headers: async ({ opList }) => ({ authorization: `Bearer ${await opts.getToken(opList[0]?.context ?? {})}`, ...trace }),
            fetch: fetchWithTimeout,
          })(runtime);
        batchers.set(key, batcher);
        if (batchers.size > MAX_TRACE_BATCHERS) batchers.delete(batchers.keys().next().value as string);
        return batcher;
      };
      return (call) => batcherFor(traceHeaders())(call);
    };
    return createTRPCClient<TRouter>({ links: [byTrace as unknown as TRPCLink<TRouter>] });
  }
  const link = httpLink<AnyRouter>({
    url,
    headers: async ({ op }) => ({ authorization: `Bearer ${await opts.getToken(op.context)}`, ...traceHeaders() }),
    fetch: fetchWithTimeout,
  });
  return createTRPCClientProxy(new SingleCallClient([link], url, opts.getToken, timeoutMs) as unknown as TRPCUntypedClient<TRouter>);
}
