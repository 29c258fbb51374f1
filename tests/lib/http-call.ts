import type { ServiceName } from '@platform/testkit';
import { RawJson } from './arbitraries.js';
import type { ProcedureInfo } from './procedures.js';

/**
 * The error code of a /trpc answer: tRPC's error shape, or — for a request refused before tRPC
 * read it (a limit: batch size, body size, JSON depth) — the problem document's own `code`.
 */
function trpcCode(parsed: unknown): string | null {
  const p = parsed as { error?: { data?: { code?: unknown } }; code?: unknown } | null;
  const code = p?.error?.data?.code ?? p?.code;
  return typeof code === 'string' ? code : null;
}

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

/** The SSE events in `text` so far: complete ones only (a blank line ends each). */
function sseEvents(text: string): Array<{ event: string; data: string; id?: string }> {
  return text
    .split(/\r?\n\r?\n/)
    .slice(0, -1)
    .map((block) => {
      const e: { event: string; data: string; id?: string } = { event: 'message', data: '' };
      for (const line of block.split(/\r?\n/)) {
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'event') e.event = value;
        else if (field === 'data') e.data += value;
        else if (field === 'id') e.id = value;
      }
      return e;
    });
}

/**
 * A subscription (tRPC over server-sent events): GET with the input in the query, as
 * httpSubscriptionLink sends it. tRPC answers 200 and reports a refusal as a `serialized-error`
 * event right after `connected`; that becomes the result's status (the error's httpStatus) and code,
 * as a query's would. Otherwise the first event (or none within `settleMs`) is the answer, and the
 * stream is closed.
 */
async function callSubscription(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  settleMs = 2_000,
): Promise<Omit<CallResult, 'ms'>> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: ac.signal });
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const parsed = await readBody(res);
      return { status: res.status, code: trpcCode(parsed), body: parsed };
    }
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let settle: NodeJS.Timeout | undefined;
    const settled = new Promise<'settled'>((resolve) => (settle = setTimeout(() => resolve('settled'), settleMs)));
    try {
      for (;;) {
        const chunk = await Promise.race([reader.read(), settled]);
        if (chunk === 'settled' || chunk.done) return { status: 200, code: null, body: { result: { data: null } } };
        text += decoder.decode(chunk.value, { stream: true });
        for (const e of sseEvents(text)) {
          if (e.event === 'serialized-error') {
            const error = JSON.parse(e.data) as { data?: { code?: string; httpStatus?: number } };
            return { status: error.data?.httpStatus ?? 500, code: error.data?.code ?? null, body: { error } };
          }
          if (e.event === 'message')
            return { status: 200, code: null, body: { result: { data: JSON.parse(e.data) as unknown, id: e.id } } };
        }
      }
    } finally {
      clearTimeout(settle);
      await reader.cancel().catch(() => undefined);
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

/**
 * Calls a procedure over tRPC's HTTP wire format directly (no typed client), so any value — valid
 * or hostile — can be sent and the raw status and error code observed. A subscription is opened,
 * read up to its first event (or refusal) and closed (callSubscription).
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
  if (proc.type === 'subscription') {
    const url = body === undefined ? base : `${base}?input=${encodeURIComponent(body)}`;
    return { ...(await callSubscription(url, headers, timeoutMs)), ms: performance.now() - started };
  }
  const res =
    proc.type === 'query'
      ? await fetch(body === undefined ? base : `${base}?input=${encodeURIComponent(body)}`, {
          headers,
          signal: AbortSignal.timeout(timeoutMs),
        })
      : await fetch(base, { method: 'POST', headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(timeoutMs) });
  const parsed = await readBody(res);
  return { status: res.status, code: trpcCode(parsed), body: parsed, ms: performance.now() - started };
}

/** tRPC error codes by the HTTP status the REST surface answers with. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

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
