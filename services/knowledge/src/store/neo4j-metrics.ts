import { latencyHistogram, platformMeter } from '@platform/kit';
import type { Histogram } from '@opentelemetry/api';

/**
 * Neo4j use, measured where every statement passes (readGraph / writeTx): the driver exposes no
 * pool statistics, but a store operation holds at most one session, thus one pooled connection, at
 * a time: operations running now are (an upper bound of) the pool use, and an operation's duration
 * is the store latency a call sees (connection acquisition, retries and all).
 */
let active = 0;
let duration: Histogram | undefined;
let observed = false;

/** Runs `work` as one store operation (a constant name from the store code: bounded labels). */
export async function measuredOperation<T>(mode: 'read' | 'write', operation: string, work: () => Promise<T>): Promise<T> {
  duration ??= latencyHistogram(
    'platform_neo4j_operation_duration_seconds',
    'Neo4j store operation time (acquire, run, retries, close), by mode, operation and outcome',
  );
  const started = performance.now();
  active++;
  let outcome = 'error';
  try {
    const result = await work();
    outcome = 'ok';
    return result;
  } finally {
    active--;
    duration.record((performance.now() - started) / 1_000, { mode, operation, outcome });
  }
}

/** neo4j-driver's default maxConnectionPoolSize, which connectGraph/createGraph leave as it is. */
export const NEO4J_DRIVER_POOL_MAX = 100;

/** `platform_neo4j_operations_active` and `platform_neo4j_pool_max`: operations running now, against the driver's pool size. */
export function observeNeo4jPool(poolMax: number = NEO4J_DRIVER_POOL_MAX): void {
  if (observed) return;
  observed = true;
  const meter = platformMeter();
  meter
    .createObservableGauge('platform_neo4j_operations_active', {
      description: 'Neo4j store operations running now (each holds at most one pooled connection)',
    })
    .addCallback((r) => r.observe(active));
  meter
    .createObservableGauge('platform_neo4j_pool_max', { description: 'Neo4j driver connection pool size (maxConnectionPoolSize)' })
    .addCallback((r) => r.observe(poolMax));
}
