import type { Principal } from '@platform/contracts';
import { initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { IncomingMessage } from 'node:http';
import { AuthError, type TokenVerifier } from './auth.js';
import { errorData, toTrpcError } from './errors.js';
import type { Logger } from './logger.js';
import { recordProcedureCall } from './metrics.js';
import { problemMembers, requestScope, restProblemBody } from './problem.js';
import { SSE_SETTINGS } from './subscriptions.js';
import { currentTraceId } from './telemetry.js';

/** What every procedure sees: who calls (or null for anonymous), a logger bound to the request. */
export interface RequestContext {
  principal: Principal | null;
  authError: string | null;
  log: Logger;
}

/** Builds the context from the HTTP request: verifies the bearer token (errors surface in `authed`). */
export function contextFactory(verifier: Pick<TokenVerifier, 'fromHeader'>, log: Logger) {
  return async ({ req }: { req: IncomingMessage }): Promise<RequestContext> => {
    const traceId = currentTraceId();
    const reqLog = traceId ? log.child({ trace_id: traceId }) : log;
    try {
      return { principal: await verifier.fromHeader(req.headers.authorization), authError: null, log: reqLog };
    } catch (err) {
      return { principal: null, authError: err instanceof AuthError ? err.message : 'invalid token', log: reqLog };
    }
  };
}

export const DEFAULT_SLOW_CALL_MS = 500;

/**
 * The one tRPC setup, shared by all services: error formatter with zod issues, domain
 * errors mapped to codes, and `authed` procedures that require a verified principal.
 */
export function createTrpc(opts: { slowCallMs?: number } = {}) {
  /** Calls at least this long are logged at warn (see mapErrors). */
  const slowCallMs = opts.slowCallMs ?? DEFAULT_SLOW_CALL_MS;
  // OpenApiMeta: every procedure declares `.meta({ openapi: { method, path, protect } })` so the
  // same zod schemas also describe a REST surface (/api) and /openapi.json for non-TypeScript callers.
  const t = initTRPC
    .context<RequestContext>()
    .meta<OpenApiMeta>()
    .create({
      // Never send stack traces to callers, whatever NODE_ENV says.
      isDev: false,
      // Subscriptions over server-sent events: pings, client inactivity timeout, stream lifetime (subscriptions.ts).
      sse: SSE_SETTINGS,
      // `data` keeps tRPC's code/httpStatus/path and our zodIssues/details, and adds the RFC 9457
      // members (problem.ts) so a non-TypeScript caller of /trpc reads the same fields as on /api.
      errorFormatter({ shape, error, path }) {
        const scope = requestScope.getStore();
        const instance = scope?.surface === 'rest' ? scope.path : path ? `/trpc/${path}` : (scope?.path ?? '/trpc');
        const extra = errorData(error);
        const problem = problemMembers(error, instance);
        const trpcShape = { ...shape, data: { ...shape.data, ...extra, ...problem } };
        // trpc-to-openapi spreads this shape into the /api error body (then sets `message`, `code` and
        // `issues` itself): there the shape is the problem document. Typed tRPC clients never see it.
        if (scope?.surface === 'rest') return restProblemBody(problem, extra.details) as unknown as typeof trpcShape;
        return trpcShape;
      },
    });

  /**
   * How every call ends, whatever it returned: counted in the metrics, logged, and a domain or
   * dependency error mapped to its tRPC code (errors.ts) in place of the error thrown.
   */
  const settle = <R extends { ok: boolean }>(result: R, log: Logger, path: string, type: string, started: number): R => {
    const error = result.ok ? null : (result as unknown as { error: TRPCError }).error;
    const mapped = error ? toTrpcError(error.cause ?? error) : null;
    const seconds = (performance.now() - started) / 1_000;
    // Every call over /trpc and /api passes here (health routes never do): the one place to count them.
    recordProcedureCall({ procedure: path, type, code: mapped ? mapped.code : 'OK', seconds });
    // A line per call joins the logs to each hop's trace (logger mixin), but at info it cost every
    // call a serialised line (shared/kit/README.md): a call that went well and fast is logged at debug
    // only; one that failed (info; INTERNAL also as an error below) or was slow (warn) always is.
    const ms = Math.round(seconds * 1_000);
    const level = mapped ? 'info' : ms >= slowCallMs ? 'warn' : 'debug';
    if (log.isLevelEnabled(level))
      log[level](
        { path, type, ms, ok: result.ok, ...(mapped ? { code: mapped.code } : {}) },
        ms >= slowCallMs ? 'slow procedure' : 'procedure',
      );
    if (error && mapped) {
      if (mapped.code === 'INTERNAL_SERVER_ERROR') log.error({ err: error.cause ?? error, path }, 'procedure failed');
      if (mapped !== error) return { ...result, error: mapped };
    }
    return result;
  };

  const mapErrors = t.middleware(async ({ next, ctx, path, type }) => {
    const started = performance.now();
    return settle(await next(), ctx.log, path, type, started);
  });

  // Authed procedures take this one middleware rather than mapErrors followed by an auth step: tRPC
  // copies its options object at every step of the chain, so a step less is measurably less per call
  // (shared/kit/README.md). A call without a principal ends as it did behind mapErrors: UNAUTHORIZED,
  // counted and logged as a failed call.
  const mapErrorsAuthed = t.middleware(async ({ next, ctx, path, type }) => {
    const started = performance.now();
    if (!ctx.principal) {
      const error = new TRPCError({ code: 'UNAUTHORIZED', message: ctx.authError ?? 'Missing bearer token' });
      settle({ ok: false, error }, ctx.log, path, type, started);
      throw error;
    }
    return settle(await next({ ctx: { principal: ctx.principal } }), ctx.log, path, type, started);
  });

  const publicProcedure = t.procedure.use(mapErrors);
  return {
    router: t.router,
    createCallerFactory: t.createCallerFactory,
    publicProcedure,
    authedProcedure: t.procedure.use(mapErrorsAuthed),
    middleware: t.middleware,
  };
}
