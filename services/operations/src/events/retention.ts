import { systemClock, type Logger, type NatsConnection } from '@platform/kit';
import type { OperationsConfig } from '../config.js';
import { startRetentionLoop, type RetentionLoop, type RetentionSettings, type StreamHorizon } from '../domain/retention.js';
import type { SqlRunner } from '../store/sql.js';
import { EVENT_STREAMS } from '@platform/contracts';

/** The streams operations' consumers read: their processed-event markers guard these streams' events. */
export const CONSUMED_STREAMS = [EVENT_STREAMS.coordination] as const;

const nanosToMs = (ns: number) => Math.ceil(ns / 1e6);

/** The max age and duplicate window of `streams`, as the server has them now. */
export async function streamHorizons(nc: NatsConnection, streams: readonly string[]): Promise<StreamHorizon[]> {
  const jsm = await nc.jetstreamManager();
  return Promise.all(
    streams.map(async (stream) => {
      const { config } = await jsm.streams.info(stream);
      return { stream, maxAgeMs: nanosToMs(config.max_age), duplicateWindowMs: nanosToMs(config.duplicate_window) };
    }),
  );
}

type RetentionConfig = Pick<
  OperationsConfig,
  'OUTBOX_SENT_RETENTION_S' | 'PROCESSED_EVENTS_RETENTION_S' | 'RETENTION_PRUNE_BATCH' | 'RETENTION_PRUNE_INTERVAL_S'
>;

export const retentionSettings = (c: RetentionConfig): RetentionSettings => ({
  outboxRetentionMs: c.OUTBOX_SENT_RETENTION_S * 1000,
  processedRetentionMs: c.PROCESSED_EVENTS_RETENTION_S * 1000,
  batch: c.RETENTION_PRUNE_BATCH,
  // At most 100 statements per table per pass; a larger backlog is worked off over several passes.
  maxBatchesPerPass: 100,
});

/** Prunes sent outbox rows and processed-event markers in the background (see domain/retention.ts). */
export function startOperationsRetention(opts: {
  sql: SqlRunner;
  nc: NatsConnection;
  log: Logger;
  config: RetentionConfig;
}): RetentionLoop {
  return startRetentionLoop(
    {
      sql: opts.sql,
      clock: systemClock,
      log: opts.log.child({ component: 'retention' }),
      horizons: () => streamHorizons(opts.nc, CONSUMED_STREAMS),
    },
    retentionSettings(opts.config),
    opts.config.RETENTION_PRUNE_INTERVAL_S * 1000,
  );
}
