import { getErrorShape, getTRPCErrorFromUnknown, transformTRPCResponse, TRPCError, type AnyProcedure, type AnyRouter } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { defaultTransformer, middlewareMarker } from '@trpc/server/unstable-core-do-not-import';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallInfo } from './subscriptions.js';

/**
 * The common tRPC call — one query (GET) or one mutation (POST, JSON body), not batched, not a
 * subscription — answered straight from Node's request and response.
 *
 * tRPC's node adapter first turns every request into a Fetch `Request` (URL, Headers, a body stream),
 * lets `resolveResponse` build a Fetch `Response`, then streams that back into Node's response: about
 * a fifth of a small call's CPU on this machine (shared/kit/README.md). For the common call this does
 * what resolveResponse does for a single call — the same context (with the same `info`), the procedure
 * called as tRPC calls it (its middlewares, input and output validation), the error shaped by the
 * router's errorFormatter, the same status codes and headers — without the Fetch objects. Anything
 * else (batches, subscriptions, streaming accept headers, HEAD, another method than the procedure's,
 * a body that is not JSON, a path that is not a plain procedure) returns false before any work is done,
 * and the adapter answers it as before.
 */
export interface DirectCallOptions {
  router: AnyRouter;
  basePath: string;
  createContext: (opts: { req: IncomingMessage; res: ServerResponse; info: CallInfo & Record<string, unknown> }) => Promise<unknown>;
  /** Headers the adapter would add through responseMeta (e.g. `vary: Origin` with CORS). */
  extraVary?: string;
}

/** The raw input of a single call: the JSON body (POST) or `?input=` (GET), undefined when absent; not ok when not JSON. */
function rawInput(req: IncomingMessage & { body?: unknown }, query: string): { ok: true; value: unknown } | { ok: false } {
  if (req.method === 'POST') {
    const type = req.headers['content-type'];
    if (type === undefined || type.split(';', 1)[0]!.trim().toLowerCase() !== 'application/json') return { ok: false };
    if (typeof req.body !== 'string') return { ok: false };
    if (req.body === '') return { ok: true, value: undefined };
    try {
      return { ok: true, value: JSON.parse(req.body) };
    } catch {
      return { ok: false }; // the adapter answers PARSE_ERROR
    }
  }
  const input = query === '' ? null : new URLSearchParams(query).get('input');
  if (input === null) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(input) };
  } catch {
    return { ok: false };
  }
}

interface StepResult {
  ok: boolean;
  data?: unknown;
  error?: unknown;
  marker?: unknown;
}
type Step = (opts: Record<string, unknown>) => Promise<StepResult | undefined>;
interface ChainOptions {
  ctx: unknown;
  input?: unknown;
  getRawInput: () => Promise<unknown>;
  [key: string]: unknown;
}
interface NextOptions {
  ctx?: Record<string, unknown>;
  input?: unknown;
  getRawInput?: () => Promise<unknown>;
}

/**
 * One step of a procedure's middleware chain, exactly as tRPC's own `callRecursive` (initTRPC) runs
 * it: the middleware gets the call's options with `meta`, `input` and `next`; `next(opts)` runs the
 * following step with `ctx` merged, `input` or `getRawInput` replaced when given; a throw becomes an
 * error result. The only difference is the copy of the options at each step: tRPC's published build
 * makes it with a Babel helper (ownKeys, then defineProperty key by key), a measured share of a
 * small call's CPU (shared/kit/README.md); here it is the engine's own object spread.
 */
async function step(index: number, middlewares: readonly Step[], meta: unknown, opts: ChainOptions): Promise<StepResult | undefined> {
  try {
    return await middlewares[index]!({
      ...opts,
      meta,
      input: opts.input,
      next(nextOpts?: NextOptions) {
        return step(index + 1, middlewares, meta, {
          ...opts,
          ctx: nextOpts?.ctx ? { ...(opts.ctx as Record<string, unknown>), ...nextOpts.ctx } : opts.ctx,
          input: nextOpts && 'input' in nextOpts ? nextOpts.input : opts.input,
          getRawInput: nextOpts?.getRawInput ?? opts.getRawInput,
        });
      },
    });
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: middlewareMarker };
  }
}

/** Calls a procedure as `proc(opts)` does (createProcedureCaller); one with its own caller (experimental_caller) is called as it is. */
async function callProcedure(proc: AnyProcedure, opts: Parameters<AnyProcedure>[0]): Promise<unknown> {
  const def = proc._def as { middlewares?: unknown; meta?: unknown; caller?: unknown; experimental_caller?: unknown };
  if (!Array.isArray(def.middlewares) || def.caller || def.experimental_caller) return proc(opts);
  const result = await step(0, def.middlewares as Step[], def.meta, opts as unknown as ChainOptions);
  if (!result)
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'No result from middlewares - did you forget to `return next()`?' });
  if (!result.ok) throw result.error;
  return result.data;
}

export function createDirectCaller(opts: DirectCallOptions) {
  const config = opts.router._def._config;
  const procedures = opts.router._def.procedures as Record<string, AnyProcedure | undefined>;
  const vary = opts.extraVary ? `trpc-accept, accept, ${opts.extraVary}` : 'trpc-accept, accept';
  // Without a transformer (our routers use none) tRPC's transformTRPCResponse copies the answer into
  // an equal object: serialise it as it is then.
  const plainJson = config.transformer === defaultTransformer;

  /** True when it answered the call; false when the adapter must (nothing was done yet). */
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    if (!pathname.startsWith(opts.basePath)) return false;
    const path = pathname.slice(opts.basePath.length);
    if (path === '' || path.includes(',') || path.includes('/') || path.includes('%')) return false;
    const proc = Object.hasOwn(procedures, path) ? procedures[path] : undefined;
    if (!proc) return false;
    const type = proc._def.type;
    if (!((type === 'mutation' && req.method === 'POST') || (type === 'query' && req.method === 'GET'))) return false;
    if (query !== '' && /(^|&)batch=/.test(query)) return false;
    const accept = req.headers['trpc-accept'];
    if (accept !== undefined && accept !== 'application/json') return false;
    const input = rawInput(req, query);
    if (!input.ok) return false;

    // From here on this call is ours, as resolveResponse would run it for a single call.
    const getRawInput = async () => input.value;
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.once('close', onClose);
    const call = { path, getRawInput, result: () => input.value, procedure: proc, batchIndex: 0 };
    const info = { isBatchCall: false, accept: null, calls: [call], type, connectionParams: null, signal: controller.signal, url: null };
    let ctx: unknown;
    let body: string;
    let status = 200;
    try {
      ctx = await opts.createContext({ req, res, info });
      const data: unknown = await callProcedure(proc, { path, getRawInput, ctx, type, signal: controller.signal, batchIndex: 0 });
      if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || data instanceof ReadableStream)) {
        throw new TRPCError({
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink',
        });
      }
      body = JSON.stringify(plainJson ? { result: { data } } : transformTRPCResponse(config, { result: { data } }));
    } catch (cause) {
      const error = getTRPCErrorFromUnknown(cause);
      status = getHTTPStatusCodeFromError(error);
      const shape = getErrorShape({ config, ctx, error, input: input.value, path, type });
      body = JSON.stringify(transformTRPCResponse(config, { error: shape }));
    }
    res.off('close', onClose);
    if (res.headersSent || res.destroyed) {
      res.end();
      return true;
    }
    res.statusCode = status;
    res.setHeader('vary', vary);
    res.setHeader('content-type', 'application/json');
    res.end(body);
    return true;
  };
}
