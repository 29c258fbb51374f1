import { nanos, type KV, type NatsConnection } from 'nats';
import { z } from 'zod';

/**
 * How many copies of a JetStream stream (or KV bucket, itself a stream `KV_<bucket>`) a NATS cluster
 * keeps: 1 on a single server, 3 on a three-node cluster (one node may fail and a quorum of two
 * still accepts writes), 5 to survive two. A resolver by stream name, so one stream can differ.
 */
export type StreamReplicas = (stream: string) => number;

/** One copy of everything: a single nats-server (the default, and all a lone server can hold). */
export const SINGLE_REPLICA: StreamReplicas = () => 1;

const replicaCount = z.coerce.number().int().min(1).max(5);

/** `STREAM=n,STREAM=n` (KV buckets by their stream name, `KV_<bucket>`). */
const overrides = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const out: Record<string, number> = {};
    for (const part of s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [name, n, ...rest] = part.split('=');
      const count = replicaCount.safeParse(n);
      if (!name || rest.length > 0 || !count.success) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not STREAM=<1..5>` });
        return z.NEVER;
      }
      out[name.trim()] = count.data;
    }
    return out;
  });

/** Read by every service (each creates streams and buckets); merged into `baseEnv`, with defaults. */
export const replicasEnv = z.object({
  /** Replicas of every stream and KV bucket this service creates (1..5; 3 on a three-node cluster). */
  NATS_STREAM_REPLICAS: replicaCount.default(1),
  /** Per-stream exceptions, `STREAM=n,...` (e.g. `HEARTBEATS=1`: a heartbeat lost with its node is replaced by the next). */
  NATS_STREAM_REPLICAS_OVERRIDES: overrides,
});
export type ReplicasEnv = z.infer<typeof replicasEnv>;

export function streamReplicas(env: ReplicasEnv): StreamReplicas {
  const byStream = env.NATS_STREAM_REPLICAS_OVERRIDES;
  return (stream) => byStream[stream] ?? env.NATS_STREAM_REPLICAS;
}

/**
 * Opens a KV bucket, creating it with `replicas(KV_<bucket>)` copies when missing, and brings an
 * existing bucket to that count (nats.js never updates a bucket's config; the server moves a
 * stream between replica counts online) and to `ttlMs` when given.
 */
export async function ensureKvBucket(
  nc: NatsConnection,
  bucket: string,
  opts: { history: number; ttlMs?: number; replicas?: StreamReplicas },
): Promise<KV> {
  const replicas = (opts.replicas ?? SINGLE_REPLICA)(`KV_${bucket}`);
  const kv = await nc
    .jetstream()
    .views.kv(bucket, { history: opts.history, replicas, ...(opts.ttlMs !== undefined ? { ttl: opts.ttlMs } : {}) });
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(`KV_${bucket}`);
  const maxAge = opts.ttlMs !== undefined ? nanos(opts.ttlMs) : info.config.max_age;
  if (info.config.num_replicas !== replicas || info.config.max_age !== maxAge) {
    await jsm.streams.update(`KV_${bucket}`, { ...info.config, num_replicas: replicas, max_age: maxAge });
  }
  return kv;
}
