import pRetry, { AbortError } from 'p-retry';
import { DomainError } from './errors.js';
import type { ReadinessCheck } from './http-server.js';
import type { Logger } from './logger.js';
import { connectNats, type NatsConnection, type NatsSettings } from './nats.js';

/**
 * Thrown by a start step that DID reach its store and found that the service must never run
 * against it (e.g. operations connecting as a role row-level security does not apply to). Not
 * retried: `ready` rejects with it, and the service exits. Any other failure is retried.
 */
export class StartRefused extends Error {
  override readonly name = 'StartRefused';
}

/** A store (and what must be done on it before the first call) started in the background. */
export interface BackgroundStart<T> {
  readonly name: string;
  /** Resolves with what `start` returned once it succeeded; rejects only with StartRefused or after `stop`. */
  readonly ready: Promise<T>;
  /** What `start` returned; until then a SERVICE_UNAVAILABLE DomainError naming the store and its last failure. */
  require(): T;
  /** Null once started; otherwise why not (the last failure). */
  waitingFor(): string | null;
  /** What `start` returned, or undefined while not started (e.g. for shutdown steps). */
  current(): T | undefined;
  /** A /readyz check: fails with the last failure until started, then runs `live` on the value. */
  readiness(live: (value: T, signal: AbortSignal) => Promise<unknown>): ReadinessCheck;
  /** Stops retrying (shutdown); a start already running finishes. */
  stop(): void;
}

export interface BackgroundStartOptions<T> {
  /** The store's name as /readyz and error messages show it (`neo4j`, `postgres`, `nats`). */
  name: string;
  log: Logger;
  /** Connects and prepares (schema, streams, …); idempotent, since it runs again after any failure. */
  start: () => Promise<T>;
  /** Backoff between attempts: from minDelayMs, doubling (with jitter), up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Starts a store in the background with retry and backoff, forever, instead of before the server:
 * a service whose store is down at boot still serves /healthz, reports the store on /readyz, refuses
 * calls with SERVICE_UNAVAILABLE (see `gate` in startServiceServer), and becomes ready by itself
 * when the store comes up. Once started, the store's own clients handle later outages.
 */
export function startInBackground<T>(opts: BackgroundStartOptions<T>): BackgroundStart<T> {
  const { name, log } = opts;
  let started: { value: T } | undefined;
  let lastFailure = 'not reached yet';
  const controller = new AbortController();
  const t0 = Date.now();

  const ready = pRetry(
    async () => {
      try {
        return await opts.start();
      } catch (err) {
        if (err instanceof StartRefused) throw new AbortError(err);
        // p-retry gives up on a TypeError (a programming error, usually); a driver may throw one for
        // a network failure too, so it is retried like the rest and stays visible on /readyz.
        throw err instanceof Error && !(err instanceof TypeError)
          ? err
          : new Error(err instanceof Error ? err.message : String(err), { cause: err });
      }
    },
    {
      retries: Number.POSITIVE_INFINITY,
      factor: 2,
      minTimeout: opts.minDelayMs ?? 250,
      maxTimeout: opts.maxDelayMs ?? 5_000,
      randomize: true,
      signal: controller.signal,
      onFailedAttempt: ({ error, attemptNumber }) => {
        const message = error.message || error.name;
        // One warning when the store is first missed and whenever the reason changes; the rest at debug.
        const level = attemptNumber === 1 || message !== lastFailure ? 'warn' : 'debug';
        lastFailure = message;
        log[level]({ store: name, attempt: attemptNumber, err: message }, `${name} not reachable; retrying in the background`);
      },
    },
  ).then((value) => {
    started = { value };
    log.info({ store: name, ms: Date.now() - t0 }, `${name} reached and prepared`);
    return value;
  });
  // Whoever awaits `ready` sees a refusal; this only keeps a stop() during shutdown from being an unhandled rejection.
  ready.catch(() => undefined);

  const waitingFor = () => (started ? null : lastFailure);
  return {
    name,
    ready,
    waitingFor,
    current: () => started?.value,
    require: () => {
      if (started) return started.value;
      throw new DomainError(
        'SERVICE_UNAVAILABLE',
        `${name} is unavailable: not reached since this service started (last error: ${lastFailure}); retry later`,
        { dependency: name },
      );
    },
    readiness: (live) => async (signal) => {
      if (!started) throw new Error(`not reached since start: ${lastFailure}`);
      return live(started.value, signal);
    },
    stop: () => controller.abort(new Error(`${name}: start abandoned (shutting down)`)),
  };
}

/**
 * Exits the process (code 1, after a fatal log line) when a start is refused for good (StartRefused);
 * a start abandoned by stop() during shutdown is not a refusal.
 */
export function exitOnStartRefused(log: Logger, ...starts: ReadonlyArray<Pick<BackgroundStart<unknown>, 'name' | 'ready'>>): void {
  for (const s of starts) {
    s.ready.catch((err: unknown) => {
      if (!(err instanceof StartRefused)) return;
      log.fatal({ store: s.name }, err.message);
      process.exit(1);
    });
  }
}

/** The gate for startServiceServer: refuses calls (SERVICE_UNAVAILABLE) until every store has started. */
export function requireStarted(...stores: ReadonlyArray<Pick<BackgroundStart<unknown>, 'require'>>): () => void {
  return () => {
    for (const s of stores) s.require();
  };
}

/**
 * NATS as a background start: one connection attempt per try (the retry and backoff are
 * startInBackground's), then `prepare` (streams, buckets, …) on the connection; a failed prepare
 * closes it so the next try starts clean. Once connected, nats.js reconnects by itself forever.
 * Bad credentials are a StartRefused: retrying cannot fix them.
 */
export function connectNatsInBackground<T>(
  settings: NatsSettings & { name: string; log: Logger },
  prepare: (nc: NatsConnection) => Promise<T>,
): BackgroundStart<{ nc: NatsConnection; prepared: T }> {
  return startInBackground({
    name: 'nats',
    log: settings.log,
    start: async () => {
      let nc: NatsConnection;
      try {
        // connectNats' own per-attempt warning would repeat startInBackground's: keep its errors only.
        nc = await connectNats({ ...settings, log: settings.log.child({}, { level: 'error' }), attempts: 0 });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (/authorization|authentication/i.test(message))
          throw new StartRefused(`nats refused the credentials of user ${settings.user ?? '(none)'}: ${message}`);
        throw err;
      }
      try {
        return { nc, prepared: await prepare(nc) };
      } catch (err) {
        await nc.close().catch(() => undefined);
        throw err;
      }
    },
  });
}
