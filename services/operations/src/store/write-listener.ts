import { outboxSignal, type Logger, type OutboxSignal } from '@platform/kit';
import pg from 'pg';
import { sessionRunner, type SqlPool } from './sql.js';

/**
 * Channels the *_outbox_notify migration's triggers NOTIFY on, once per writing statement, delivered
 * when the writing transaction commits (never on rollback).
 */
export const WRITE_CHANNELS = { outboxWritten: 'outbox_written', teamDirectoryWritten: 'team_directory_written' } as const;

/** Shows up in pg_stat_activity (and lets tests find the connection to cut it). */
export const WRITE_LISTENER_APP_NAME = 'operations-write-listener';

export interface WriteListener {
  /** Rings when a transaction that inserted outbox rows committed (the outbox relay listens). */
  outboxWritten: OutboxSignal;
  /** Rings when a transaction that queued team-directory changes committed (the directory publisher listens). */
  teamDirectoryWritten: OutboxSignal;
  /** Whether the LISTEN connection is up now. */
  listening(): boolean;
  /**
   * The LISTEN session as a runner while it is up (undefined otherwise): a connection that never
   * carries step or request work, for the saga lease renewals (one short UPDATE per tick), so they
   * do not queue behind the pools. One transaction at a time; notifications wait while one runs.
   */
  session(): SqlPool | undefined;
  stop(): Promise<void>;
}

/**
 * Operations' counterpart of knowledge's writeTx ring: Postgres tells us of every committed write
 * (whoever made it: router, saga step, consumer, event store, another replica), over one dedicated
 * session connection that LISTENs on WRITE_CHANNELS. It is not a pool connection (a pool would hand it
 * to a query and LISTEN would be lost), and it needs a session, not a transaction-pooling proxy.
 *
 * A dropped connection (Postgres restart, failover, a killed backend) is replaced with backoff
 * (`minDelayMs` doubling to `maxDelayMs`); every (re)connect rings both signals once, because writes
 * committed while nobody listened sent their notifications to no one. Meanwhile the relays' own polls
 * are the safety net. TCP keep-alive notices a peer that vanished without closing the socket.
 */
export function startWriteListener(opts: {
  connectionString: string;
  log: Logger;
  minDelayMs?: number;
  maxDelayMs?: number;
}): WriteListener {
  const log = opts.log.child({ component: 'write-listener' });
  const minDelay = opts.minDelayMs ?? 100;
  const maxDelay = opts.maxDelayMs ?? 5_000;
  const signals = { outboxWritten: outboxSignal(), teamDirectoryWritten: outboxSignal() };
  const byChannel = new Map<string, OutboxSignal>(
    Object.entries(WRITE_CHANNELS).map(([k, ch]) => [ch, signals[k as keyof typeof WRITE_CHANNELS]]),
  );
  const ringAll = () => Object.values(signals).forEach((s) => s.written());

  let client: pg.Client | null = null;
  let runner: { client: pg.Client; sql: SqlPool } | null = null;
  let up = false;
  let stopped = false;
  let delay = minDelay;
  let retry: NodeJS.Timeout | null = null;
  let connecting: Promise<void> | null = null;

  const scheduleReconnect = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      connecting = connect();
    }, delay);
    delay = Math.min(delay * 2, maxDelay);
  };

  const connect = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: opts.connectionString,
      application_name: WRITE_LISTENER_APP_NAME,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 3_000,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (client === c) {
        client = null;
        if (up && !stopped) log.warn({ err: err?.message }, 'LISTEN connection lost; reconnecting (relays poll meanwhile)');
        up = false;
      }
      c.end().catch(() => undefined);
      scheduleReconnect();
    };
    // Without an 'error' listener node-postgres would crash the process on a dropped connection.
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (n) => byChannel.get(n.channel)?.written());
    try {
      await c.connect();
      if (stopped) {
        await c.end();
        return;
      }
      client = c;
      await c.query(
        Object.values(WRITE_CHANNELS)
          .map((ch) => `LISTEN ${ch}`)
          .join('; '),
      );
      if (lost) return;
      up = true;
      delay = minDelay;
      log.debug('listening for committed writes');
      ringAll();
    } catch (err) {
      log.debug({ err: err instanceof Error ? err.message : String(err) }, 'LISTEN connection failed; will retry');
      onLost(err instanceof Error ? err : new Error(String(err)));
    }
  };

  connecting = connect();
  return {
    ...signals,
    listening: () => up,
    session: () => {
      if (!up || !client) return undefined;
      if (runner?.client !== client) runner = { client, sql: sessionRunner(client) };
      return runner.sql;
    },
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      await connecting;
      up = false;
      await client?.end().catch(() => undefined);
      client = null;
    },
  };
}
