import type { Principal } from '@platform/contracts';
import { ValueType, type UpDownCounter } from '@opentelemetry/api';
import { TRPCError } from '@trpc/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { toTrpcError } from './errors.js';
import type { Logger } from './logger.js';
import { platformMeter } from './metrics.js';

/**
 * tRPC subscriptions over server-sent events (tRPC 11, `httpSubscriptionLink` on the client).
 * One subscription is one long GET on /trpc/<path> answered `text/event-stream`; each event a
 * procedure yields with `tracked(id, data)` carries `id`, and a client that reconnects sends the
 * last one back (`Last-Event-ID` header from EventSource, or `lastEventId` in the input from
 * tRPC's client), so the procedure resumes after it.
 *
 * The SSE options every service uses (root config of createTrpc):
 * - a ping every 15 s keeps proxies from closing an idle stream, and tells the client the server
 *   is there: without anything for 40 s the client drops the connection and reconnects;
 * - a stream ends after 15 minutes. The client reconnects at once and resumes from its last
 *   event id: the caller's token and rights are checked again, and long-lived connections
 *   spread over replicas added since.
 */
export const SSE_SETTINGS = {
  ping: { enabled: true, intervalMs: 15_000 },
  client: { reconnectAfterInactivityMs: 40_000 },
  maxDurationMs: 15 * 60_000,
} as const;

/** Merged into baseEnv (config.ts); the default applies where a deployment sets nothing. */
export const subscriptionsEnv = z.object({
  /** Open subscriptions (SSE streams) a user or agent may hold at once, per process; services are not limited. */
  SUBSCRIPTIONS_PER_PRINCIPAL: z.coerce.number().int().min(1).max(10_000).default(32),
});

export interface SubscriptionSettings {
  /** Open subscriptions per user or agent; past it TOO_MANY_REQUESTS. */
  perPrincipal: number;
}

/** What a service passes to `startServiceServer({ subscriptions })`, from its parsed environment. */
export const subscriptionSettings = (env: z.infer<typeof subscriptionsEnv>): SubscriptionSettings => ({
  perPrincipal: env.SUBSCRIPTIONS_PER_PRINCIPAL,
});

export const DEFAULT_SUBSCRIPTIONS: SubscriptionSettings = subscriptionSettings(subscriptionsEnv.parse({}));

/** What tRPC tells createContext about the call (standalone adapter's `info`; absent on /api). */
export interface CallInfo {
  type?: string;
  connectionParams?: Record<string, string | undefined> | null;
  calls?: ReadonlyArray<{ path: string }>;
}

/**
 * A browser's EventSource cannot send headers, so `httpSubscriptionLink({ connectionParams: { token } })`
 * sends the token in the `connectionParams` query parameter. For a subscription without an
 * Authorization header, that token becomes the request's bearer token, verified by the service's
 * context factory exactly like a header (same verifier, same principal). Only for subscriptions:
 * every other call must send the header (a token in a URL ends up in more logs).
 */
export function adoptConnectionParamsToken(req: IncomingMessage, info: CallInfo | undefined): void {
  if (info?.type !== 'subscription' || req.headers.authorization) return;
  const token = info.connectionParams?.['token'];
  if (typeof token === 'string' && token.length > 0) req.headers.authorization = `Bearer ${token}`;
}

let activeGauge: UpDownCounter | undefined;
const active = (): UpDownCounter =>
  (activeGauge ??= platformMeter().createUpDownCounter('platform_rpc_subscriptions_active', {
    description: 'Open tRPC subscriptions (server-sent event streams), by procedure',
    valueType: ValueType.INT,
  }));

/**
 * The open subscriptions of one server: at most `maxPerPrincipal` at once for each user or agent
 * (services are not limited, as with the rate limit), counted in `platform_rpc_subscriptions_active`,
 * and ended when the server closes (an SSE stream never ends by itself, so `server.close()` would
 * otherwise wait for every one of them until the shutdown timeout; the clients reconnect elsewhere
 * and resume from their last event id).
 */
export class SubscriptionRegistry {
  private readonly perPrincipal = new Map<string, number>();
  private readonly open = new Set<ServerResponse>();

  constructor(
    readonly maxPerPrincipal: number,
    private readonly log: Logger,
  ) {}

  /** Counts a subscription until its response closes; TOO_MANY_REQUESTS past the caller's limit. */
  admit(principal: Pick<Principal, 'kind' | 'id'> | null, path: string, res: ServerResponse): void {
    const key = principal && principal.kind !== 'service' ? `${principal.kind}:${principal.id}` : null;
    if (key) {
      const held = this.perPrincipal.get(key) ?? 0;
      if (held >= this.maxPerPrincipal) {
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: `At most ${this.maxPerPrincipal} open subscriptions per caller (SUBSCRIPTIONS_PER_PRINCIPAL); close one first`,
        });
      }
      this.perPrincipal.set(key, held + 1);
    }
    this.open.add(res);
    active().add(1, { procedure: path });
    const started = performance.now();
    res.once('close', () => {
      if (key) {
        const left = (this.perPrincipal.get(key) ?? 1) - 1;
        if (left > 0) this.perPrincipal.set(key, left);
        else this.perPrincipal.delete(key);
      }
      this.open.delete(res);
      active().add(-1, { procedure: path });
      this.log.debug({ path, seconds: Math.round(performance.now() - started) / 1_000 }, 'subscription closed');
    });
  }

  /** Open subscriptions of `principal` (tests, metrics). */
  heldBy(principal: Pick<Principal, 'kind' | 'id'>): number {
    return this.perPrincipal.get(`${principal.kind}:${principal.id}`) ?? 0;
  }

  get size(): number {
    return this.open.size;
  }

  /** Ends every open stream (at shutdown): the socket closes, the procedure's signal aborts. */
  closeAll(): void {
    for (const res of this.open) res.socket?.destroy();
  }
}

/**
 * A subscription's events with errors mapped as a query's would be (a DomainError NOT_FOUND stays
 * NOT_FOUND, an unreachable store becomes SERVICE_UNAVAILABLE): tRPC's own mapping makes anything
 * else INTERNAL_SERVER_ERROR, which the client treats as "reconnect and resume".
 */
export async function* mapStreamErrors<T>(source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  try {
    yield* source;
  } catch (err) {
    throw toTrpcError(err);
  }
}

/**
 * A subscription's `lastEventId` (what the client last received, from `tracked()`): the ids of the
 * platform's streams are positive integers (a history position, a stream sequence, a revision).
 */
export const LastEventId = z.string().regex(/^(0|[1-9][0-9]{0,14})$/, 'an event id this stream sent (digits)');
export const parseEventId = (id: string | undefined): number => (id === undefined ? 0 : Number(id));
