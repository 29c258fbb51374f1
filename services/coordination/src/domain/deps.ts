import type { Clock, IdGenerator, JetStreamClient, Logger, TeamDirectory } from '@platform/kit';
import type { WorkNotifier } from '../events/work-notifier.js';
import type { Claimant } from './claim.js';
import type { Background } from './background.js';
import type { TaskAccess } from './task-access.js';
import type { AgentRecord, Lease, Liveness } from '../store/agent-record.js';
import type { HeartbeatKeyRecord } from '../store/heartbeat-keys.js';
import type { JobRecord } from '../store/job-record.js';
import type { KvCache } from '../store/kv-cache.js';
import type { OutboxStore } from '../store/outbox-store.js';
import type { ScheduleRecord } from '../store/schedule-record.js';
import type { TypedKv } from '../store/typed-kv.js';

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

/** What every domain function receives: stores, clock, id generator, logger, settings, and who may see and target what. */
export interface CoordinationDeps {
  js: JetStreamClient;
  stores: CoordinationStores;
  caches: CoordinationCaches;
  /** Wakes waiting claims, and holds them for jobs handed over directly (dispatchCreated). */
  notifier: WorkNotifier<JobRecord, Claimant>;
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
