import type { ServiceName } from '../../scripts/lib/local-env.js';
import { RawJson } from './arbitraries.js';
import type { ProcedureInfo } from './procedures.js';

export interface CallResult {
  status: number;
  code: string | null;
  body: unknown;
  ms: number;
}

/** JSON headers, with the bearer token when there is one. */
function requestHeaders(token: string | null): Record<string, string> {
  return token ? { 'content-type': 'application/json', authorization: `Bearer ${token}` } : { 'content-type': 'application/json' };
}

/** The body as JSON, or as text when it is not JSON (e.g. 431 from node for a huge query string). */
async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Calls a procedure over tRPC's HTTP wire format directly (no typed client), so any value — valid
 * or hostile — can be sent and the raw status and error code observed.
 */
export async function callProcedure(
  ports: Record<ServiceName, number>,
  proc: Pick<ProcedureInfo, 'service' | 'path' | 'type'>,
  input: unknown,
  token: string | null,
  timeoutMs = 20_000,
): Promise<CallResult> {
  const base = `http://127.0.0.1:${ports[proc.service]}/trpc/${proc.path}`;
  const headers = requestHeaders(token);
  const body = input === undefined ? undefined : input instanceof RawJson ? input.text : JSON.stringify(input);
  const started = performance.now();
  const res =
    proc.type === 'query'
      ? await fetch(body === undefined ? base : `${base}?input=${encodeURIComponent(body)}`, { headers, signal: AbortSignal.timeout(timeoutMs) })
      : await fetch(base, { method: 'POST', headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(timeoutMs) });
  const parsed = await readBody(res);
  const code = (parsed as { error?: { data?: { code?: string } } } | null)?.error?.data?.code ?? null;
  return { status: res.status, code, body: parsed, ms: performance.now() - started };
}

/** tRPC error codes by the HTTP status the REST surface answers with. */
const CODE_BY_STATUS: Record<number, string> = { 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE', 429: 'TOO_MANY_REQUESTS', 503: 'SERVICE_UNAVAILABLE' };

/**
 * Calls a procedure over its REST route (/api, trpc-to-openapi): POST with a JSON body, GET with the
 * input as query parameters (strings as they are, other values as JSON, arrays as repeated keys).
 * The result's `body` is wrapped as `{ result: { data } }` on success so callers read both transports alike.
 */
export async function callRest(
  ports: Record<ServiceName, number>,
  proc: Pick<ProcedureInfo, 'service' | 'path' | 'rest'>,
  input: unknown,
  token: string | null,
  timeoutMs = 20_000,
): Promise<CallResult> {
  if (!proc.rest) throw new Error(`${proc.service}:${proc.path} has no REST route`);
  const base = `http://127.0.0.1:${ports[proc.service]}/api${proc.rest.path}`;
  const headers = requestHeaders(token);
  const started = performance.now();
  let res: Response;
  if (proc.rest.method === 'GET') {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries((input ?? {}) as Record<string, unknown>)) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) query.append(k, typeof item === 'string' ? item : JSON.stringify(item));
    }
    const qs = query.toString();
    res = await fetch(qs ? `${base}?${qs}` : base, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } else {
    res = await fetch(base, { method: 'POST', headers, body: JSON.stringify(input ?? {}), signal: AbortSignal.timeout(timeoutMs) });
  }
  const parsed = await readBody(res);
  const ok = res.status >= 200 && res.status < 300;
  const code = ok ? null : ((parsed as { code?: string } | null)?.code ?? CODE_BY_STATUS[res.status] ?? null);
  return { status: res.status, code, body: ok ? { result: { data: parsed } } : parsed, ms: performance.now() - started };
}
