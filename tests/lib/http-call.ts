import type { ServiceName } from '../../scripts/lib/local-env.js';
import { RawJson } from './arbitraries.js';
import type { ProcedureInfo } from './procedures.js';

export interface CallResult {
  status: number;
  code: string | null;
  body: unknown;
  ms: number;
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
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  const body = input === undefined ? undefined : input instanceof RawJson ? input.text : JSON.stringify(input);
  const started = performance.now();
  const res =
    proc.type === 'query'
      ? await fetch(body === undefined ? base : `${base}?input=${encodeURIComponent(body)}`, { headers, signal: AbortSignal.timeout(timeoutMs) })
      : await fetch(base, { method: 'POST', headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (e.g. 431 from node for a huge query string): keep the text
  }
  const code = (parsed as { error?: { data?: { code?: string } } } | null)?.error?.data?.code ?? null;
  return { status: res.status, code, body: parsed, ms: performance.now() - started };
}
