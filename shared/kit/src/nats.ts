import { DEAD_LETTER_STREAM, EVENT_STREAM_OWNERS, parseEnvelope, type EventSubject, type TypedEnvelope } from '@platform/contracts';
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  headers as natsHeaders,
  nanos,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamClient,
  type JsMsg,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import { isDeepStrictEqual } from 'node:util';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from './logger.js';
import { SINGLE_REPLICA, type StreamReplicas } from './replicas.js';
import { DEFAULT_DEAD_LETTER_LIMITS, limitsRetention, type StreamLimits } from './retention.js';
import { contextFromHeaders, SpanKind, traceHeaders, withSpan } from './telemetry.js';
import { patchNatsHotPath } from './nats-hot-path.js';

// The rest of the code imports NATS types from here, so moving to the split v3 packages touches one folder.
export type { JetStreamClient, JetStreamManager, JsMsg, KV, KvEntry, NatsConnection, Subscription } from 'nats';
export { AckPolicy, DeliverPolicy, DiscardPolicy, KvWatchInclude, RetentionPolicy, StorageType, nanos } from 'nats';

export interface NatsSettings {
  url: string;
  user?: string | undefined;
  password?: string | undefined;
  /** Subject prefix of this connection's reply inboxes; default `natsInboxPrefix(user)`. */
  inboxPrefix?: string | undefined;
}

/**
 * The inbox prefix of a NATS user: `_INBOX_<user>` (characters other than letters, digits, `_` and
 * `-` become `_`), plain `_INBOX` without a user. The server lets each user subscribe to its own
 * prefix only (shared/contracts/src/nats-permissions.ts), so the replies to one user's JetStream API, KV and
 * publish requests never reach another user — an agent cannot read a service's KV reads.
 */
export const natsInboxPrefix = (user: string | undefined): string => (user ? `_INBOX_${user.replace(/[^A-Za-z0-9_-]/g, '_')}` : '_INBOX');

/**
 * Connects with retry and backoff (the server may still be starting), then reconnects forever.
 * Credentials come from `user`/`password` or from the URL's userinfo; bad credentials fail at once.
 * Replies arrive on the user's own inbox prefix (natsInboxPrefix) unless `inboxPrefix` says otherwise.
 */
export async function connectNats(opts: NatsSettings & { name: string; log: Logger; attempts?: number }): Promise<NatsConnection> {
  // A cluster is a comma-separated list of its nodes' URLs: the client starts with any that answers
  // and then learns the others from the cluster, so a node down at start or later is no outage.
  const urls = opts.url.split(',').map((u) => new URL(u.trim().replace(/^nats:/, 'http:')));
  const url = urls[0]!;
  const servers = urls.map((u) => `${u.hostname}:${u.port || '4222'}`);
  const server = servers.join(',');
  const user = opts.user ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const pass = opts.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const inboxPrefix = opts.inboxPrefix ?? natsInboxPrefix(user);
  patchNatsHotPath();
  const nc = await pRetry(
    async () => {
      try {
        // noAsyncTraces: nats.js otherwise builds two Error objects (stack captures) for every
        // request, just in case it times out; on the dispatch path that was a measurable share of
        // the CPU, and a timeout's message still names what timed out.
        return await connect({
          servers,
          name: opts.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          noAsyncTraces: true,
          inboxPrefix,
          ...(user ? { user, pass } : {}),
        });
      } catch (err) {
        if (err instanceof Error && /authorization|authentication/i.test(err.message)) throw new AbortError(err);
        throw err;
      }
    },
    {
      retries: opts.attempts ?? 10,
      minTimeout: 200,
      maxTimeout: 3_000,
      onFailedAttempt: ({ error, attemptNumber }) => opts.log.warn({ err: error.message, attemptNumber }, 'nats connect failed, retrying'),
    },
  );
  opts.log.info({ server, inboxPrefix }, 'nats connected');
  return nc;
}

/**
 * Creates the stream, or updates an existing one whose config differs from `config` in any field
 * given (limits changed in the environment take effect at the next start; fields not given keep
 * their value); safe to call at every start, by every replica. Says which it did.
 */
export async function ensureStream(
  nc: NatsConnection,
  config: Partial<StreamConfig> & { name: string; subjects: string[] },
): Promise<'created' | 'updated' | 'unchanged'> {
  const jsm = await nc.jetstreamManager();
  const full: Partial<StreamConfig> = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(2 * 60_000),
    ...config,
  };
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(config.name)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(full);
    return 'created';
  }
  const differs = (Object.keys(full) as Array<keyof StreamConfig>).some((k) => !isDeepStrictEqual(full[k], current[k]));
  if (!differs) return 'unchanged';
  await jsm.streams.update(config.name, full);
  return 'updated';
}

/** Creates or updates a durable pull consumer with explicit ack. */
export async function ensureConsumer(
  nc: NatsConnection,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const full: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_deliver: 5,
    ...config,
  };
  try {
    await jsm.consumers.info(stream, config.durable_name);
    await jsm.consumers.update(stream, config.durable_name, full);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, full);
  }
}

/**
 * Takes the next message of a durable pull consumer without waiting (one no-wait request);
 * null when the consumer has nothing to deliver right now. For callers that poll several
 * consumers in a fixed order (e.g. by priority) and must not block on any one of them.
 */
export async function pullNext(js: JetStreamClient, stream: string, durable: string): Promise<JsMsg | null> {
  try {
    // The legacy single-message pull is the one nats.js 2.x call that maps to a no_wait request.
    return await js.pull(stream, durable);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === '404' || code === '408') return null;
    throw err;
  }
}

/**
 * Takes up to `max` messages of a durable pull consumer without waiting (one no-wait request):
 * what is there now, arriving together, so a caller that polls on a timer handles many messages
 * per wake-up instead of one. Empty when there is nothing.
 */
export async function pullBatch(js: JetStreamClient, stream: string, durable: string, max: number): Promise<JsMsg[]> {
  const batch: JsMsg[] = [];
  for await (const m of js.fetch(stream, durable, { batch: max, no_wait: true })) batch.push(m);
  return batch;
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && /not found/i.test(err.message);
}

/**
 * Publishes a JSON payload to JetStream with `Nats-Msg-Id` (server-side dedupe inside the
 * stream's window) and the trace context in the headers, inside a producer span.
 */
export async function publishJson(js: JetStreamClient, subject: string, json: string, msgId: string, traceparent?: string) {
  const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'messaging.message.id': msgId };
  // A relayed event continues the trace of the change that wrote it, not the relay's own.
  const parent = traceparent ? contextFromHeaders((k) => (k === 'traceparent' ? traceparent : undefined)) : undefined;
  return withSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, attributes, ...(parent ? { parent } : {}) }, async () => {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(traceHeaders())) h.set(k, v);
    return js.publish(subject, json, { msgID: msgId, headers: h });
  });
}

/** Publishes an event envelope: its id is the message id. */
export function publishEnvelope(js: JetStreamClient, envelope: { id: string; subject: string; traceparent?: string | undefined }) {
  return publishJson(js, envelope.subject, JSON.stringify(envelope), envelope.id, envelope.traceparent);
}

// Stream names (and who owns each event stream) are the contracts': the kit reads them from there.
export { DEAD_LETTER_STREAM, EVENT_STREAM_OWNERS };

/**
 * Why a valid envelope taken from `stream` must not be believed, or null: its `source` is not the
 * stream's owner, or it claims another subject than the one it was published on.
 */
export function envelopeRefusal(
  envelope: { source: string; subject: string },
  from: { stream: string; owner: string; subject: string },
): string | null {
  if (envelope.source !== from.owner)
    return `source ${JSON.stringify(envelope.source)} does not own stream ${from.stream} (owner ${from.owner})`;
  if (envelope.subject !== from.subject) return `envelope subject ${envelope.subject} was published on ${from.subject}`;
  return null;
}

/** Thrown by a handler for a failure worth retrying later (message is nak'ed with a delay). */
export class TransientError extends Error {
  override name = 'TransientError';
}

export interface ConsumeOptions<S extends EventSubject> {
  nc: NatsConnection;
  stream: string;
  durable: string;
  subjects: readonly S[];
  log: Logger;
  handler: (envelope: TypedEnvelope<S>, msg: JsMsg) => Promise<void>;
  /** Deliveries before a message goes to `deadletter.<durable>` with its reason. */
  maxDeliver?: number;
  /** The service whose envelopes `stream` carries; default EVENT_STREAM_OWNERS[stream]. */
  owner?: string;
  /** Retention of the dead-letter stream (ensured here); default DEFAULT_DEAD_LETTER_LIMITS. */
  deadLetterLimits?: StreamLimits;
  /** Replicas of the dead-letter stream (NATS_STREAM_REPLICAS); default one. */
  replicas?: StreamReplicas;
  retryDelayMs?: number;
  /**
   * Messages handled at once (default 1: one after another). Handlers then finish out of stream
   * order, as they do across replicas sharing the durable, so only handlers that already tolerate
   * that (idempotent, order-insensitive or locking what they change) should raise it.
   */
  concurrency?: number;
  /**
   * With concurrency > 1: messages with the same key are handled one after another, in stream
   * order (e.g. the events of one record, which would otherwise contend for the same rows).
   */
  keyOf?: (envelope: TypedEnvelope<S>) => string;
}

export interface RunningConsumer {
  stop(): Promise<void>;
  /** Resolves once the loop has ended (after stop). */
  done: Promise<void>;
}

/**
 * Consumes a durable consumer with explicit ack. Every message is zod-validated; an invalid one
 * is terminated with a logged reason; one whose envelope's `source` is not the stream's owner (or
 * whose subject is not the one it came on) is dead-lettered with the reason and terminated, never
 * handled; a handler failure is nak'ed with delay until the last delivery, then copied to a
 * dead-letter subject and terminated, so one poison message never blocks the stream.
 */
export async function consumeEvents<S extends EventSubject>(opts: ConsumeOptions<S>): Promise<RunningConsumer> {
  const maxDeliver = opts.maxDeliver ?? 5;
  const log = opts.log.child({ consumer: opts.durable });
  const owner = opts.owner ?? EVENT_STREAM_OWNERS[opts.stream];
  if (!owner) throw new Error(`consumeEvents: no owner known for stream ${opts.stream}; pass \`owner\``);
  // Dead letters need a stream to land in, or the publish would fail and the message be lost.
  await ensureStream(opts.nc, {
    name: DEAD_LETTER_STREAM,
    subjects: ['deadletter.>'],
    ...limitsRetention(opts.deadLetterLimits ?? DEFAULT_DEAD_LETTER_LIMITS),
    num_replicas: (opts.replicas ?? SINGLE_REPLICA)(DEAD_LETTER_STREAM),
  });
  await ensureConsumer(opts.nc, opts.stream, {
    durable_name: opts.durable,
    filter_subjects: [...opts.subjects],
    max_deliver: maxDeliver,
  });
  const js = opts.nc.jetstream();
  const consumer = await js.consumers.get(opts.stream, opts.durable);
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  // Enough prefetched to keep every slot busy, but no more than acks can follow within ack_wait.
  const messages = await consumer.consume({ max_messages: Math.max(64, concurrency * 4) });

  /** The envelope to handle, or null when the message was terminated here (invalid or refused). */
  const admit = async (msg: JsMsg): Promise<TypedEnvelope<S> | null> => {
    let raw: unknown;
    try {
      raw = msg.json();
    } catch {
      log.warn({ subject: msg.subject, seq: msg.seq, reason: 'body is not JSON' }, 'terminating invalid message');
      msg.term('body is not JSON');
      return null;
    }
    const parsed = parseEnvelope(raw, opts.subjects);
    if (!parsed.ok) {
      log.warn({ subject: msg.subject, seq: msg.seq, reason: parsed.reason }, 'terminating invalid message');
      msg.term(parsed.reason.slice(0, 500));
      return null;
    }
    const envelope = parsed.envelope;
    const refusal = envelopeRefusal(envelope, { stream: opts.stream, owner, subject: msg.subject });
    if (refusal) {
      log.warn(
        { eventId: envelope.id, subject: msg.subject, seq: msg.seq, source: envelope.source, reason: refusal },
        'refusing event from a source that does not own the stream',
      );
      // Keyed by stream position, not the envelope's id: a forged envelope may reuse a real event's id.
      await js
        .publish(
          `deadletter.${opts.durable}`,
          JSON.stringify({ reason: refusal, delivery: msg.info.deliveryCount, stream: opts.stream, seq: msg.seq, envelope }),
          { msgID: `dl-${opts.durable}-${opts.stream}-${msg.seq}` },
        )
        .catch((e: unknown) => log.error({ err: e }, 'dead-letter publish failed'));
      msg.term(refusal.slice(0, 500));
      return null;
    }
    return envelope;
  };

  const handle = async (msg: JsMsg, envelope: TypedEnvelope<S>) => {
    const parent = contextFromHeaders((k) => msg.headers?.get(k) || undefined);
    try {
      await withSpan(
        `consume ${envelope.subject}`,
        {
          kind: SpanKind.CONSUMER,
          parent,
          attributes: { 'messaging.system': 'nats', 'messaging.consumer.group.name': opts.durable, 'messaging.message.id': envelope.id },
        },
        () => opts.handler(envelope, msg),
      );
      msg.ack();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const delivery = msg.info.deliveryCount;
      if (delivery >= maxDeliver) {
        log.error({ eventId: envelope.id, delivery, reason }, 'dead-lettering message after last delivery');
        await js
          .publish(`deadletter.${opts.durable}`, JSON.stringify({ reason, delivery, envelope }), {
            msgID: `dl-${opts.durable}-${envelope.id}`,
          })
          .catch((e: unknown) => log.error({ err: e }, 'dead-letter publish failed'));
        return msg.term(reason.slice(0, 500));
      }
      log.warn({ eventId: envelope.id, delivery, reason }, 'handler failed, retrying later');
      msg.nak((opts.retryDelayMs ?? 1_000) * delivery);
    }
  };

  /** The message's ordering key; none (handled at once) when keyOf cannot name one. */
  const keyFor = (envelope: TypedEnvelope<S>): string | undefined => {
    try {
      return opts.keyOf?.(envelope);
    } catch (err) {
      log.warn({ eventId: envelope.id, err }, 'no ordering key for this event; handling it unordered');
      return undefined;
    }
  };
  const inFlight = new Set<Promise<void>>();
  /** Per key, the last handling queued: the next message with that key starts after it. */
  const tails = new Map<string, Promise<void>>();
  const done = (async () => {
    for await (const msg of messages) {
      const envelope = await admit(msg);
      if (!envelope) continue;
      if (concurrency === 1) {
        await handle(msg, envelope);
        continue;
      }
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      const key = keyFor(envelope);
      const before = key === undefined ? undefined : tails.get(key);
      // A handler's failure is nak'ed or dead-lettered inside handle(); what is left (a settle call on
      // a closed connection) is logged here: the message is redelivered after its ack wait.
      const settled = () =>
        handle(msg, envelope).catch((err: unknown) => log.error({ eventId: envelope.id, err }, 'settling a message failed'));
      const running = (before ? before.then(settled) : settled()).finally(() => {
        inFlight.delete(running);
        if (key !== undefined && tails.get(key) === running) tails.delete(key);
      });
      inFlight.add(running);
      if (key !== undefined) tails.set(key, running);
    }
    await Promise.all(inFlight);
  })();
  return {
    done,
    stop: async () => {
      await messages.close();
      await done;
    },
  };
}
