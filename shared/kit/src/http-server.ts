import { TRPCError, type AnyRouter } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createOpenApiNodeHttpHandler, generateOpenApiDocument, type OpenApiRouter } from 'trpc-to-openapi';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { declaredLength, jsonNestsDeeperThan, readBodyWithin, trpcCallCount } from './body-limit.js';
import { createCorsHandler, type CorsSettings } from './cors.js';
import { toTrpcError } from './errors.js';
import { PROBLEM_CONTENT_TYPE, problemJsonSchema, requestScope, sendProblem } from './problem.js';
import { resolveLimits, type LimitSettings, type RateLimitSettings } from './limits.js';
import type { Logger } from './logger.js';
import { createRateLimiter } from './rate-limit.js';
import {
  adoptConnectionParamsToken,
  DEFAULT_SUBSCRIPTIONS,
  SubscriptionRegistry,
  type CallInfo,
  type SubscriptionSettings,
} from './subscriptions.js';
import type { RequestContext } from './trpc.js';
import { createDirectCaller } from './trpc-direct.js';

/** A dependency check for /readyz: resolves when healthy, throws (or times out) otherwise. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown>;

export interface ServiceServerOptions<TRouter extends AnyRouter> {
  name: string;
  router: TRouter;
  createContext: (opts: { req: IncomingMessage }) => Promise<RequestContext>;
  readiness: Record<string, ReadinessCheck>;
  log: Logger;
  host: string;
  port: number;
  readinessTimeoutMs: number;
  /** Title and version for /openapi.json; the REST surface is served under /api. */
  openapi: { title: string; version: string; description?: string };
  /** The AsyncAPI document of the events this service publishes, served at /asyncapi.json (asyncapi.ts). */
  asyncapi?: () => object;
  /** Extra plain-HTTP routes (e.g. /openapi.json); return true when handled. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Body size, batch size and rate limits (see limits.ts); anything left out takes its default. */
  limits?: { maxBodyBytes?: number; maxBatchCalls?: number; maxJsonDepth?: number; rateLimit?: Partial<RateLimitSettings> } | LimitSettings;
  /** Limits on open subscriptions (subscriptions.ts, from SUBSCRIPTIONS_PER_PRINCIPAL); left out, the default. */
  subscriptions?: SubscriptionSettings;
  /** Browser origins allowed by CORS (cors.ts, from CORS_ORIGINS); left out, none is. */
  cors?: CorsSettings;
  /**
   * Answers GET /metrics (Prometheus text format) on the service port, where the chart's
   * ServiceMonitor scrapes: @platform/otel's `metricsHandler()`. Without one, /metrics is 404.
   */
  metrics?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /**
   * Runs before every call (tRPC and REST); throwing (e.g. a SERVICE_UNAVAILABLE DomainError while a
   * store has not been reached since boot, see background-start.ts) refuses the call with that error.
   */
  gate?: () => void;
  /**
   * Single /trpc queries and mutations are answered without tRPC's Fetch adapter (trpc-direct.ts);
   * false sends every call through the adapter (the parity test compares the two). Default true.
   */
  directCalls?: boolean;
}

export interface ServiceServer {
  server: Server;
  url: string;
  /** Open subscriptions (SSE streams) and who holds them. */
  subscriptions: SubscriptionRegistry;
  close(): Promise<void>;
}

/**
 * The generator documents errors as application/json { message, code, issues }; every /api error
 * is really RFC 9457 problem+json (problem.ts, built by the error formatter in trpc.ts). Document
 * that one schema for every error status an operation lists and as its `default` answer.
 */
function documentErrors<T extends { components?: { schemas?: Record<string, unknown> }; paths?: Record<string, unknown> }>(doc: T): T {
  const schemas = ((doc.components ??= {}).schemas ??= {});
  for (const name of Object.keys(schemas)) if (name.startsWith('error.')) delete schemas[name];
  schemas['Problem'] = problemJsonSchema;
  const content = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } };
  for (const item of Object.values(doc.paths ?? {}) as Array<Record<string, { responses?: Record<string, { description?: string }> }>>) {
    for (const op of Object.values(item)) {
      if (!op || typeof op !== 'object' || !op.responses) continue;
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400)
          op.responses[status] = { description: response.description ?? 'Error', content } as { description: string };
      }
      op.responses['default'] = { description: 'Error (problem with the call, a limit, or a dependency unavailable)', content } as {
        description: string;
      };
    }
  }
  return doc;
}

/** A self-contained docs page (no CDN: clusters may be offline) rendering /openapi.json. */
function docsPage(title: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title} API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}code{background:#f3f3f3;padding:0 .3em}pre{background:#f7f7f7;padding:.5rem;overflow:auto}</style></head>
<body><h1>${title} API</h1><p>OpenAPI 3.1 document: <a href="/openapi.json">/openapi.json</a>. tRPC clients use <code>/trpc</code>; REST callers use <code>/api</code> with <code>Authorization: Bearer &lt;JWT&gt;</code>.</p>
<div id="ops">loading…</div>
<script>
fetch('/openapi.json').then(r=>r.json()).then(doc=>{
  const out=[];
  for(const [path,item] of Object.entries(doc.paths||{})) for(const [method,op] of Object.entries(item)){
    const body=op.requestBody?.content?.['application/json']?.schema;
    out.push('<h3><code>'+method.toUpperCase()+' /api'+path+'</code></h3><p>'+(op.summary||op.operationId||'')+'</p>'+
      (body?'<pre>'+JSON.stringify(body,null,2).replace(/</g,'&lt;')+'</pre>':''));
  }
  document.getElementById('ops').innerHTML=out.join('');
});
</script></body></html>`;
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * A limit refusal as problem+json. `close` when a request body may still be on its way: Node
 * would otherwise read and discard all of it to keep the connection alive.
 */
function sendLimitProblem(res: ServerResponse, status: 400 | 413, detail: string, extra: Record<string, unknown>, close: boolean): void {
  if (close) res.setHeader('connection', 'close');
  sendProblem(res, status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', status, { detail, instance: pathOf(res.req), ...extra });
}

const pathOf = (req: IncomingMessage): string => (req.url ?? '/').split('?')[0] ?? '/';

const hasBody = (req: IncomingMessage) => req.method !== 'GET' && req.method !== 'HEAD';

/**
 * What trpc-to-openapi's own body reader (co-body) would make of a JSON body we already read:
 * nothing for an empty body, the parsed value, or its PARSE_ERROR (thrown from the getter, which
 * the adapter reads inside its error handling, so the answer keeps the adapter's error shape).
 */
function restBody(req: IncomingMessage, raw: Buffer): void {
  const mediaType = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  let parsed: unknown;
  let failure: TRPCError | undefined;
  if (mediaType === 'application/json' && raw.length > 0) {
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (cause) {
      failure = new TRPCError({
        code: 'PARSE_ERROR',
        message: 'Failed to parse request body',
        cause: cause instanceof Error ? cause : undefined,
      });
    }
  }
  Object.defineProperty(req, 'body', {
    configurable: true,
    enumerable: true,
    get() {
      if (failure) throw failure;
      return parsed;
    },
  });
}

/** Runs every check in parallel with its own timeout; names each failing dependency. */
export async function runReadiness(checks: Record<string, ReadinessCheck>, timeoutMs: number) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        await Promise.race([
          check(signal),
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error(`timed out after ${timeoutMs} ms`)), { once: true }),
          ),
        ]);
        return [name, { ok: true }] as const;
      } catch (err) {
        return [name, { ok: false, error: err instanceof Error ? err.message : String(err) }] as const;
      }
    }),
  );
  const checksResult = Object.fromEntries(entries);
  const failing = entries.filter(([, r]) => !r.ok).map(([n]) => n);
  return { ready: failing.length === 0, failing, checks: checksResult };
}

/**
 * HTTP server for one service: tRPC under /trpc, /healthz (no I/O), /readyz (dependency checks),
 * problem+json (RFC 9457) for everything else.
 */
export async function startServiceServer<TRouter extends AnyRouter>(opts: ServiceServerOptions<TRouter>): Promise<ServiceServer> {
  // --- limits (limits.ts, body-limit.ts, rate-limit.ts): body size, batch size, per-principal rate ---
  const limits = resolveLimits(opts.limits);
  const limiter = createRateLimiter(limits.rateLimit);
  const callCounts = new WeakMap<IncomingMessage, number>();
  const subscriptions = new SubscriptionRegistry((opts.subscriptions ?? DEFAULT_SUBSCRIPTIONS).perPrincipal, opts.log);
  // The principal is known once the context is built: the rate check runs there, before any
  // procedure, and answers TOO_MANY_REQUESTS (429) in each adapter's own error shape. A
  // subscription (one long SSE response, subscriptions.ts) is one call for the rate limit and
  // the metrics, may carry its token in connectionParams, and counts against the open-stream cap.
  const createContext = async ({
    req,
    res,
    info,
  }: {
    req: IncomingMessage;
    res: { setHeader(name: string, value: string): unknown };
    info?: CallInfo;
  }): Promise<RequestContext> => {
    try {
      opts.gate?.();
    } catch (err) {
      throw toTrpcError(err);
    }
    adoptConnectionParamsToken(req, info);
    const ctx = await opts.createContext({ req });
    const decision = limiter.check(ctx.principal, req.socket.remoteAddress, callCounts.get(req) ?? 1);
    if (!decision.allowed) {
      res.setHeader('retry-after', String(decision.retryAfterSeconds));
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `Rate limit of ${decision.limit} calls per ${decision.windowMs / 1_000} s exceeded; retry after ${decision.retryAfterSeconds} s`,
      });
    }
    if (info?.type === 'subscription') subscriptions.admit(ctx.principal, info.calls?.[0]?.path ?? 'unknown', res as ServerResponse);
    return ctx;
  };

  const tooDeep = (req: IncomingMessage, res: ServerResponse) =>
    sendLimitProblem(
      res,
      400,
      `The input nests objects or arrays deeper than ${limits.maxJsonDepth} levels (MAX_JSON_DEPTH)`,
      { maxJsonDepth: limits.maxJsonDepth },
      hasBody(req),
    );
  const tooLarge = (res: ServerResponse, received: string) =>
    sendLimitProblem(
      res,
      413,
      `Request body ${received} exceeds the limit of ${limits.maxBodyBytes} bytes (MAX_BODY_BYTES)`,
      { maxBodyBytes: limits.maxBodyBytes },
      true,
    );

  /**
   * Checks the batch size, then reads the body within the size limit (Content-Length first, then
   * counting while it streams) and hands it to the adapter as `req.body`. False when it answered.
   */
  const admit = async (req: IncomingMessage, res: ServerResponse, surface: 'trpc' | 'rest'): Promise<boolean> => {
    // Most calls have no query string (a mutation, a query without input): nothing to parse then.
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (surface === 'trpc') {
      const calls = q === -1 ? 1 : trpcCallCount(url);
      if (calls > limits.maxBatchCalls) {
        sendLimitProblem(
          res,
          400,
          `A batch of ${calls} calls exceeds the maximum of ${limits.maxBatchCalls} (MAX_BATCH_CALLS)`,
          { maxBatchCalls: limits.maxBatchCalls },
          hasBody(req),
        );
        return false;
      }
      callCounts.set(req, calls);
    }
    // A query's input travels in the URL (`?input=` on /trpc; REST query parameters are flat).
    const queryInput = q === -1 ? null : new URLSearchParams(url.slice(q + 1)).get('input');
    if (queryInput !== null && jsonNestsDeeperThan(queryInput, limits.maxJsonDepth)) {
      tooDeep(req, res);
      return false;
    }
    if (!hasBody(req)) return true;
    const declared = declaredLength(req);
    if (declared !== undefined && declared > limits.maxBodyBytes) {
      tooLarge(res, `of ${declared} bytes`);
      return false;
    }
    const read = await readBodyWithin(req, limits.maxBodyBytes);
    if (read.kind === 'aborted') return false;
    if (read.kind === 'too-large') {
      tooLarge(res, `of more than ${read.received - 1} bytes`);
      return false;
    }
    const text = read.body.toString('utf8');
    if (jsonNestsDeeperThan(text, limits.maxJsonDepth)) {
      tooDeep(req, res);
      return false;
    }
    // tRPC takes a string body as the raw text; trpc-to-openapi takes `req.body` as parsed input.
    if (surface === 'trpc') (req as IncomingMessage & { body?: unknown }).body = text;
    else restBody(req, read.body);
    return true;
  };

  const trpc = createHTTPHandler({
    router: opts.router,
    basePath: '/trpc/',
    createContext,
    // Also enforced by tRPC itself, should a request reach it without `admit`.
    maxBatchSize: limits.maxBatchCalls,
    // tRPC replaces the Vary header CORS set with its own: add Origin back where one may be allowed.
    ...(opts.cors?.origins.length ? { responseMeta: () => ({ headers: new Headers([['vary', 'Origin']]) }) } : {}),
  });

  // Single queries and mutations skip the adapter's Fetch Request/Response (trpc-direct.ts).
  const direct =
    opts.directCalls === false
      ? async () => false
      : createDirectCaller({
          router: opts.router,
          basePath: '/trpc/',
          createContext,
          ...(opts.cors?.origins.length ? { extraVary: 'Origin' } : {}),
        });

  const rest = createOpenApiNodeHttpHandler({
    router: opts.router as unknown as OpenApiRouter,
    createContext,
    maxBodySize: limits.maxBodyBytes,
    // The error body is a problem document (see the error formatter in trpc.ts): say so.
    responseMeta: ({ errors }) => (errors.length > 0 ? { headers: { 'content-type': PROBLEM_CONTENT_TYPE } } : {}),
  });
  const corsHandler = createCorsHandler(opts.cors ?? { origins: [] });
  let openApiJson = '';
  // Built once: the document depends only on the contracts this build was made with.
  const asyncApiJson = opts.asyncapi ? JSON.stringify(opts.asyncapi()) : undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = pathOf(req);
    try {
      if (await corsHandler(req, res)) return;
      if (path.startsWith('/trpc/')) {
        if (!(await admit(req, res, 'trpc'))) return;
        return await requestScope.run({ surface: 'trpc', path }, async () => {
          if (!(await direct(req, res))) await trpc(req, res);
        });
      }
      if (path.startsWith('/api/')) {
        if (!(await admit(req, res, 'rest'))) return;
        req.url = (req.url ?? '').slice('/api'.length);
        return await requestScope.run({ surface: 'rest', path }, () => rest(req, res));
      }
      if (path === '/openapi.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(openApiJson);
      }
      if (path === '/asyncapi.json' && asyncApiJson !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(asyncApiJson);
      }
      if (path === '/docs') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(docsPage(opts.openapi.title));
      }
      if (path === '/metrics' && opts.metrics && (req.method === 'GET' || req.method === 'HEAD')) return opts.metrics(req, res);
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok', service: opts.name });
      if (path === '/readyz') {
        const result = await runReadiness(opts.readiness, opts.readinessTimeoutMs);
        if (result.ready) return sendJson(res, 200, { status: 'ready', service: opts.name, checks: result.checks });
        return sendProblem(res, 'SERVICE_UNAVAILABLE', 503, {
          detail: `not ready: ${result.failing.join(', ')}`,
          instance: path,
          failing: result.failing,
          checks: result.checks,
        });
      }
      if (opts.extraRoutes && (await opts.extraRoutes(req, res))) return;
      sendProblem(res, 'NOT_FOUND', 404, { detail: `no route ${path}`, instance: path });
    } catch (err) {
      opts.log.error({ err, path }, 'request failed');
      if (!res.headersSent) sendProblem(res, 'INTERNAL_SERVER_ERROR', 500, { instance: path });
    }
  };
  const server = createServer(handle);
  // `Expect: 100-continue` (curl sends it for large bodies): refuse a declared oversize body before
  // the client sends a byte of it; otherwise let it go on, as Node does without this listener.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = declaredLength(req);
    if (declared === undefined || declared <= limits.maxBodyBytes) res.writeContinue();
    void handle(req, res);
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host}:${port}`;
  openApiJson = JSON.stringify(
    documentErrors(
      generateOpenApiDocument(opts.router as unknown as OpenApiRouter, {
        title: opts.openapi.title,
        version: opts.openapi.version,
        ...(opts.openapi.description ? { description: opts.openapi.description } : {}),
        openApiVersion: '3.1.0',
        baseUrl: `${url}/api`,
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      }),
    ),
  );

  return {
    server,
    url,
    subscriptions,
    close: () =>
      new Promise<void>((resolve) => {
        // Stop accepting; idle keep-alive sockets close now, in-flight requests finish. Open
        // subscriptions never finish by themselves: they end now and their clients resume elsewhere.
        server.close(() => resolve());
        server.closeIdleConnections();
        subscriptions.closeAll();
      }),
  };
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting, drain in-flight work, close clients in
 * order, exit 0. A second signal or the timeout forces exit 1 so a hung close never blocks a rollout.
 */
export function onShutdown(log: Logger, timeoutMs: number, steps: Array<[string, () => Promise<unknown>]>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        log.error({ err, step: name }, 'shutdown step failed');
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
