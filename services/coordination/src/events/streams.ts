import {
  AckPolicy,
  DEFAULT_DEAD_LETTER_LIMITS,
  DEFAULT_EVENT_STREAM_LIMITS,
  DiscardPolicy,
  ensureConsumer,
  ensureKvBucket,
  ensureStream,
  limitsRetention,
  nanos,
  RetentionPolicy,
  SINGLE_REPLICA,
  StorageType,
  type NatsConnection,
  type StreamLimits,
  type StreamReplicas,
} from '@platform/kit';
import {
  COORDINATION_BUCKETS,
  EVENT_STREAMS,
  HEARTBEAT_SUBJECT_PREFIX,
  HEARTBEATS_CONSUMER,
  HEARTBEATS_STREAM,
  jobConsumer,
  JobPriority,
  jobSubject,
  JOBS_DEADLETTER_STREAM,
  JOBS_STREAM,
  JobType,
} from '@platform/contracts';

/**
 * How much coordination's streams keep. Events and dead jobs: limits retention, oldest dropped
 * first (EVENT_STREAM_* and DEAD_LETTER_* variables). The job queue: bytes only (JOBS_STREAM_MAX_BYTES).
 */
export interface CoordinationStreamLimits {
  events: StreamLimits;
  deadJobs: StreamLimits;
  jobsMaxBytes: number;
}

/** 1 GiB of work items (about a million queued jobs): a bound on the queue, far from any real backlog. */
export const DEFAULT_JOBS_MAX_BYTES = 1024 ** 3;

export const DEFAULT_COORDINATION_LIMITS: CoordinationStreamLimits = {
  events: DEFAULT_EVENT_STREAM_LIMITS,
  deadJobs: DEFAULT_DEAD_LETTER_LIMITS,
  jobsMaxBytes: DEFAULT_JOBS_MAX_BYTES,
};

/**
 * The job queue keeps a work item until an agent's claim acks it, however long that takes: no age
 * limit (one would drop queued jobs silently while their records still say `queued`). Its size is
 * bounded with discard NEW: when full, the server refuses the next work item, the job's outbox keeps
 * it and the outbox sweep retries (logged every pass), so a full queue is loud and loses nothing.
 */
export function jobsQueueRetention(maxBytes: number) {
  return { retention: RetentionPolicy.Workqueue, max_age: 0, max_bytes: maxBytes > 0 ? maxBytes : -1, discard: DiscardPolicy.New };
}

/** Consumers of the first version (one per type, no priority); removed so they hold no state. */
const legacyConsumers = JobType.options.map((t) => `jobs-${t}`);

/**
 * Streams, consumers and KV buckets; idempotent, run at every start (and by every replica).
 * `agentTtlMs` becomes the liveness bucket's max age; `limits` are applied to a new stream and to
 * an existing one whose limits differ. KV buckets get no age or size limit: a record (job, agent,
 * schedule) must not vanish while it is current; their markers and leases are deleted when done,
 * enrolments and liveness keys expire by TTL, and heartbeats keep one message per agent. Every
 * stream and bucket gets `replicas(name)` copies (NATS_STREAM_REPLICAS; 3 on a three-node cluster).
 */
export async function ensureCoordinationStreams(
  nc: NatsConnection,
  opts: { agentTtlMs: number; heartbeatIntervalMs: number; limits?: CoordinationStreamLimits; replicas?: StreamReplicas },
): Promise<void> {
  const limits = opts.limits ?? DEFAULT_COORDINATION_LIMITS;
  const replicas = opts.replicas ?? SINGLE_REPLICA;
  await ensureStream(nc, {
    name: EVENT_STREAMS.coordination,
    subjects: ['coordination.>'],
    ...limitsRetention(limits.events),
    num_replicas: replicas(EVENT_STREAMS.coordination),
  });
  // Only an agent's latest heartbeat matters, and only while it is fresh: one per subject, in
  // memory, gone after two intervals (a restarted server loses at most that).
  await ensureStream(nc, {
    name: HEARTBEATS_STREAM,
    subjects: [`${HEARTBEAT_SUBJECT_PREFIX}.*`],
    storage: StorageType.Memory,
    max_msgs_per_subject: 1,
    // A heartbeat is a token and at most 1,000 job ids; the server refuses anything larger.
    max_msg_size: 64 * 1024,
    max_age: nanos(2 * opts.heartbeatIntervalMs),
    duplicate_window: nanos(Math.min(2 * opts.heartbeatIntervalMs, 2 * 60_000)),
    num_replicas: replicas(HEARTBEATS_STREAM),
  });
  // No acks: a heartbeat taken by a replica that dies before recording it is replaced by the next one.
  await ensureConsumer(nc, HEARTBEATS_STREAM, { durable_name: HEARTBEATS_CONSUMER, ack_policy: AckPolicy.None, max_deliver: -1 });
  await ensureStream(nc, {
    name: JOBS_STREAM,
    subjects: ['jobs.queue.>'],
    ...jobsQueueRetention(limits.jobsMaxBytes),
    num_replicas: replicas(JOBS_STREAM),
  });
  await ensureStream(nc, {
    name: JOBS_DEADLETTER_STREAM,
    subjects: ['jobs.dead.>'],
    ...limitsRetention(limits.deadJobs),
    num_replicas: replicas(JOBS_DEADLETTER_STREAM),
  });
  const jsm = await nc.jetstreamManager();
  for (const name of legacyConsumers) await jsm.consumers.delete(JOBS_STREAM, name).catch(() => undefined);
  for (const type of JobType.options) {
    for (const priority of JobPriority.options) {
      // One durable per (type, priority), shared by every replica: JetStream hands each message to one puller.
      // Filters are disjoint, as a work-queue stream requires. ack_wait only matters if a replica dies
      // between pulling a work item and recording the claim: the item then comes back after 30 s.
      await ensureConsumer(nc, JOBS_STREAM, {
        durable_name: jobConsumer(type, priority),
        filter_subject: jobSubject(type, priority),
        ack_wait: nanos(30_000),
        max_deliver: -1,
      });
    }
  }
  for (const bucket of [
    COORDINATION_BUCKETS.jobs,
    COORDINATION_BUCKETS.jobsOutbox,
    COORDINATION_BUCKETS.agents,
    COORDINATION_BUCKETS.agentsOutbox,
    COORDINATION_BUCKETS.leases,
    COORDINATION_BUCKETS.schedules,
    COORDINATION_BUCKETS.heartbeatKeys,
  ]) {
    await ensureKvBucket(nc, bucket, { history: 1, replicas });
  }
  await ensureKvBucket(nc, COORDINATION_BUCKETS.enrolments, { history: 1, ttlMs: 7 * 24 * 3600_000, replicas });
  // Liveness TTL. Every agent has the same TTL, so the bucket's max age *is* a per-key TTL: each
  // ping rewrites the key and restarts its clock, and the server deletes the key of an agent that
  // stopped pinging. That is the plain KV API of nats.js 2.29 (no per-message `Nats-TTL` headers
  // published by hand to `$KV.<bucket>.<key>`), and works on any nats-server ≥ 2.2. The sweep in
  // domain/liveness.ts treats "key gone on the server" as offline. A changed TTL is applied to the
  // existing bucket (ensureKvBucket).
  await ensureKvBucket(nc, COORDINATION_BUCKETS.liveness, { history: 1, ttlMs: opts.agentTtlMs, replicas });
}
