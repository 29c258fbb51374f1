import { metrics, ValueType, type Attributes, type Histogram, type Meter, type ObservableResult } from '@opentelemetry/api';

/**
 * Metrics through @opentelemetry/api only (the SDK and its Prometheus reader start in
 * @platform/otel). The API hands out no-op instruments until the SDK registers its MeterProvider,
 * so instruments are made on first use, never at import time.
 */
export const platformMeter = (): Meter => metrics.getMeter('@platform/kit');

/** Latency buckets in seconds, from a cached read (~1 ms) to a slow saga step or claim wait. */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function latencyHistogram(name: string, description: string, meter: Meter = platformMeter()): Histogram {
  return meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: LATENCY_BUCKETS_S } });
}

interface ProcedureInstruments {
  requests: ReturnType<Meter['createCounter']>;
  errors: ReturnType<Meter['createCounter']>;
  duration: Histogram;
}
let procedureInstruments: ProcedureInstruments | undefined;

/**
 * One tRPC call (over /trpc or /api), recorded by the kit's tRPC middleware. Labels stay bounded:
 * `procedure` is a path of the router (tRPC answers unknown paths before any middleware runs),
 * `type` is query|mutation|subscription, `code` is OK or one of tRPC's fixed error codes.
 */
export function recordProcedureCall(call: { procedure: string; type: string; code: string; seconds: number }): void {
  const meter = platformMeter();
  procedureInstruments ??= {
    requests: meter.createCounter('platform_rpc_requests', {
      description: 'tRPC/REST procedure calls, by procedure, type and result code (OK or the tRPC error code)',
      valueType: ValueType.INT,
    }),
    errors: meter.createCounter('platform_rpc_errors', {
      description: 'tRPC/REST procedure calls that failed, by procedure, type and tRPC error code',
      valueType: ValueType.INT,
    }),
    duration: latencyHistogram('platform_rpc_duration_seconds', 'tRPC/REST procedure latency, by procedure, type and result code', meter),
  };
  const attributes = { procedure: call.procedure, type: call.type, code: call.code };
  procedureInstruments.requests.add(1, attributes);
  if (call.code !== 'OK') procedureInstruments.errors.add(1, attributes);
  procedureInstruments.duration.record(call.seconds, attributes);
}

/**
 * A reading taken at most once per `ttlMs` and given up after `timeoutMs`, for gauges observed at
 * scrape time: two Prometheus replicas scraping together cause one store query, and a store that
 * hangs delays a scrape by at most the timeout. A failed or late reading is `undefined` (the
 * series is absent from that scrape, which alerts can see), never a stale value shown as current.
 */
export function cachedReading<T>(
  read: (signal: AbortSignal) => Promise<T>,
  opts: { ttlMs: number; timeoutMs: number; now?: () => number },
): () => Promise<T | undefined> {
  const now = opts.now ?? Date.now;
  let last: { at: number; value: T | undefined } | undefined;
  let inFlight: Promise<T | undefined> | undefined;
  return () => {
    if (last && now() - last.at < opts.ttlMs) return Promise.resolve(last.value);
    inFlight ??= (async () => {
      const signal = AbortSignal.timeout(opts.timeoutMs);
      let value: T | undefined;
      try {
        value = await Promise.race([
          read(signal),
          new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true })),
        ]);
      } catch {
        value = undefined;
      }
      last = { at: now(), value };
      inFlight = undefined;
      return value;
    })();
    return inFlight;
  };
}

/** One value of a gauge with its labels. */
export interface GaugePoint {
  value: number;
  attributes?: Attributes;
}

/**
 * Observable gauges fed by one reading: each gauge maps the reading to its points. The reading
 * runs when Prometheus scrapes (through `cachedReading`), never on a request path.
 */
export function observeGauges<T>(
  reading: () => Promise<T | undefined>,
  gauges: Array<{ name: string; description: string; unit?: string; points: (value: T) => GaugePoint[] }>,
  meter: Meter = platformMeter(),
): void {
  for (const g of gauges) {
    const gauge = meter.createObservableGauge(g.name, { description: g.description, ...(g.unit ? { unit: g.unit } : {}) });
    gauge.addCallback(async (result: ObservableResult) => {
      const value = await reading();
      if (value === undefined) return;
      for (const p of g.points(value)) result.observe(p.value, p.attributes);
    });
  }
}

/** What an outbox still owes: rows (or nodes, or markers) not yet sent, and how long the oldest has waited. */
export interface OutboxBacklog {
  backlog: number;
  /** Seconds since the oldest unsent entry was written; 0 when there is none. */
  oldestAgeSeconds: number;
}

/** `platform_outbox_backlog` and `platform_outbox_oldest_age_seconds`, labelled by outbox. */
export function observeOutboxes(reading: () => Promise<Record<string, OutboxBacklog> | undefined>, meter?: Meter): void {
  const points = (pick: (b: OutboxBacklog) => number) => (value: Record<string, OutboxBacklog>) =>
    Object.entries(value).map(([outbox, b]) => ({ value: pick(b), attributes: { outbox } }));
  observeGauges(
    reading,
    [
      {
        name: 'platform_outbox_backlog',
        description: 'Outbox entries written but not yet published to JetStream',
        points: points((b) => b.backlog),
      },
      {
        name: 'platform_outbox_oldest_age_seconds',
        description: 'Age of the oldest unpublished outbox entry (0 when none)',
        unit: 's',
        points: points((b) => b.oldestAgeSeconds),
      },
    ],
    meter,
  );
}

/** Seconds between `oldest` and `now`, never negative (clock skew between a store and this process), 0 without an entry. */
export function ageSeconds(oldest: Date | number | null | undefined, now: number): number {
  if (oldest === null || oldest === undefined) return 0;
  const at = typeof oldest === 'number' ? oldest : oldest.getTime();
  return Math.max(0, (now - at) / 1_000);
}
