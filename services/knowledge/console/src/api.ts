// Typed tRPC clients for the page: knowledge on the same origin, coordination at the URL the server
// hands out in /console/config.json (cross-origin: coordination's CORS_ORIGINS lists this origin).
// The router types are imported as types only, so no server code reaches the bundle.
import type { CoordinationRouter } from '@platform/coordination/router';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError, type TRPCClient } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import type { KnowledgeRouter } from '../../src/router/index.js';

export type KnowledgeClient = TRPCClient<KnowledgeRouter>;
export type CoordinationClient = TRPCClient<CoordinationRouter>;
export type KnowledgeOut = inferRouterOutputs<KnowledgeRouter>;
export type CoordinationOut = inferRouterOutputs<CoordinationRouter>;

export type RunSummary = KnowledgeOut['runs']['list']['items'][number];
export type RunTree = KnowledgeOut['runs']['tree'];
export type TreeStep = RunTree['steps'][number];
export type Replay = KnowledgeOut['runs']['replay'];
export type Agent = CoordinationOut['agents']['list']['agents'][number];
export type Job = CoordinationOut['jobs']['list']['jobs'][number];
export type QueueDepth = CoordinationOut['queues']['depths']['queues'][number];

export interface ConsoleConfig {
  coordinationUrl: string | null;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  return (await res.json()) as ConsoleConfig;
}

/** The services' batch cap (MAX_BATCH_CALLS default): a bigger batch would be refused. */
const MAX_BATCH = 20;
const TIMEOUT_MS = 10_000;

function link(url: string, token: () => string | null) {
  return splitLink({
    condition: (op) => op.type === 'subscription',
    // Subscriptions are server-sent event streams: a browser's EventSource cannot send an
    // Authorization header, so the token goes in connectionParams (the services accept it there
    // for subscriptions only). It reconnects by itself, resuming from the last event id.
    true: httpSubscriptionLink({ url, connectionParams: () => ({ token: token() ?? '' }) }),
    false: httpBatchLink({
      url,
      maxItems: MAX_BATCH,
      headers: () => {
        const t = token();
        return t ? { authorization: `Bearer ${t}` } : {};
      },
      // Every call has a deadline: a hung service shows as an error, not as a page that never loads.
      fetch: (input, init) => {
        const signal = init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(TIMEOUT_MS)]) : AbortSignal.timeout(TIMEOUT_MS);
        return fetch(input, { ...init, signal } as RequestInit);
      },
    }),
  });
}

export function createClients(
  config: ConsoleConfig,
  token: () => string | null,
): { knowledge: KnowledgeClient; coordination: CoordinationClient | null } {
  const knowledge = createTRPCClient<KnowledgeRouter>({ links: [link(new URL('/trpc', window.location.origin).href, token)] });
  const coordination = config.coordinationUrl
    ? createTRPCClient<CoordinationRouter>({ links: [link(`${config.coordinationUrl.replace(/\/$/, '')}/trpc`, token)] })
    : null;
  return { knowledge, coordination };
}

/** The tRPC error code of a failed call (UNAUTHORIZED, NOT_FOUND, …), or null for anything else. */
export function errorCode(err: unknown): string | null {
  if (err instanceof TRPCClientError) {
    const code = (err.data as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : null;
  }
  return null;
}

export function errorMessage(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code ? `${code}: ${message}` : message;
}

/** The callbacks of a tRPC subscription that the console's live views use: any event means "read again". */
export function changeHandlers(h: { onChange: () => void; onConnected: () => void; onLost: () => void }) {
  return {
    onStarted: h.onConnected,
    onData: h.onChange,
    // A refused or failed stream (NOT_FOUND, UNAUTHORIZED, …) ends it: the poll takes over and shows why.
    onError: h.onLost,
    // While it reconnects by itself (a dropped connection, a server restart), the poll keeps the view current.
    onConnectionStateChange: (s: { state: string; error: unknown }) => {
      if (s.state === 'connecting' && s.error) h.onLost();
    },
  };
}
