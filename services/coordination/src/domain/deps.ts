import type { Clock, IdGenerator, Logger, TeamDirectory } from '@platform/kit';
import type { WorkNotifier } from '../events/work-notifier.js';
import type { Background } from './background.js';
import type { TaskAccess } from './task-access.js';
import type { AgentRecord, Lease, Liveness } from '../store/agent-record.js';
import type { HeartbeatKeyRecord } from '../store/heartbeat-keys.js';
import type { JobRecord } from '../store/job-record.js';
import type { KvCache } from '../store/kv-cache.js';
import type { OutboxStore, WithOutbox } from '../store/outbox-store.js';
import type { QueueDepth } from '../store/queue-depths.js';
import type { ScheduleRecord } from '../store/schedule-record.js';
import type { TypedKv, Versioned } from '../store/typed-kv.js';

/** Timing rules, from config. */
export interface CoordinationSettings {
  /** How often agents must ping. */
  heartbeatIntervalMs: number;
  /** Two missed heartbeats. */
  staleAfterMs: number;
  /** The liveness TTL: no ping for this long and the agent is offline (its jobs are requeued). */
  offlineAfterMs: number;
  /** After a stuck report, how long the agent keeps its job before it is released to another. */
  stuckGraceMs: number;
  /** Default long-poll of jobs.claim. */
  claimWaitMs: number;
  /** While a claim waits, how often it looks again without a notification (retries whose backoff ended). */
  claimResweepMs: number;
  /** The outbox sweep leaves markers younger than this to the writer that is flushing them. */
  outboxMinAgeMs: number;
}

export interface CoordinationStores {
  jobs: OutboxStore<JobRecord>;
  agents: OutboxStore<AgentRecord>;
  liveness: TypedKv<Liveness>;
  leases: TypedKv<Lease>;
  schedules: TypedKv<ScheduleRecord>;
  heartbeatKeys: TypedKv<HeartbeatKeyRecord>;
}

/**
 * Mirrors of the small buckets (see KvCache: hints, never trusted for writes). Leases are not
 * mirrored: they are removed without tombstones (no watch event), and the lease sweep scans them.
 */
export interface CoordinationCaches {
  agents: KvCache<AgentRecord>;
  liveness: KvCache<Liveness>;
  schedules: KvCache<ScheduleRecord>;
  /** Agents' heartbeat signing keys: a NATS heartbeat is verified without a KV round trip. */
  heartbeatKeys: KvCache<HeartbeatKeyRecord>;
}

/** Who asks, as the SDK tags it: the agent process (session) and the claim's number in it. */
export interface ClaimTag {
  session: string;
  seq: number;
}

/** A claim waiting on this replica, as the notifier holds it for a direct hand-over. */
export interface Claimant {
  agent: string;
  tag: ClaimTag | undefined;
}

/**
 * Port: sends what a just-written record owes (work items, events) without making the caller
 * wait. The record and its marker are durable, so a send lost to a crash is the outbox sweep's.
 * Implemented at the edge (events/outbox.ts), which is what publishes to NATS.
 */
export interface OutboxSender {
  /** `afterSent` runs once everything is published (a job's lease that covered the write instead of a marker is removed then). */
  send<T extends WithOutbox>(
    store: OutboxStore<T>,
    key: string,
    written: Versioned<T>,
    marker: number | null,
    afterSent?: () => Promise<unknown>,
  ): void;
  /** Publishes what the record owes now, as read (the lease sweep, before it removes a lease that covered a write). */
  flush<T extends WithOutbox>(store: OutboxStore<T>, key: string): Promise<void>;
}

/**
 * What the domain decides about a pulled work item; the edge turns it into the JetStream reply
 * (see events/work-queues.ts): `done` ack, `later` nak with a delay, `redeliver` nak now, `drop` term.
 */
export type Settlement = { kind: 'done' } | { kind: 'later'; ms: number } | { kind: 'redeliver' } | { kind: 'drop' };

/** One work item pulled from a job queue, as the domain sees it. */
export interface WorkDelivery {
  subject: string;
  /** The item's JSON body, or null when it is not JSON. */
  body: unknown;
  /** How many items the queue still holds behind this one. */
  pending: number;
  settle(settlement: Settlement): void;
}

/** Port: the job queues (one durable per job type and priority), pulled without waiting. */
export interface WorkQueues {
  /** The next item of queue `durable`, or null when it is empty. */
  pull(durable: string): Promise<WorkDelivery | null>;
}

/** A heartbeat as it arrived over NATS: its subject, its body, and when the stream stored it (ms since the epoch). */
export interface ArrivedHeartbeat {
  subject: string;
  body: string;
  storedAt: number;
}

/** Port: the agents' heartbeats that arrived since the last take (events/heartbeat-inbox.ts), at most `max`. */
export interface HeartbeatInbox {
  take(max: number): Promise<ArrivedHeartbeat[]>;
}

/** What every domain function receives: stores, clock, id generator, logger, settings, and who may see and target what. */
export interface CoordinationDeps {
  /** How much waits in each work queue (read from JetStream at the edge: store/queue-depths.ts). */
  queueDepths: () => Promise<QueueDepth[]>;
  stores: CoordinationStores;
  caches: CoordinationCaches;
  /** Wakes waiting claims, and holds them for jobs handed over directly (dispatchCreated). */
  notifier: WorkNotifier<JobRecord, Claimant>;
  /** Sends records' outboxes (NATS publishing lives at the edge, not in the domain). */
  outbox: OutboxSender;
  /** Where claims pull work items from (JetStream acks and naks live at the edge). */
  workQueues: WorkQueues;
  /** Where the heartbeats agents publish over NATS are taken from. */
  heartbeats: HeartbeatInbox;
  settings: CoordinationSettings;
  /** Work calls start without waiting for (outbox sends, lease removals); see Background. */
  background: Background;
  clock: Clock;
  newId: IdGenerator;
  log: Logger;
  /** Which teams a user is in (operations owns teams): team members see the team's jobs and schedules. */
  teams: TeamDirectory;
  /** Whether a principal may change an operations task (asked before work is aimed at one). */
  taskAccess: TaskAccess;
}
