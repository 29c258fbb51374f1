import {
  startDrainLoop,
  systemClock,
  uuid,
  type Clock,
  type IdGenerator,
  type Logger,
  type NatsConnection,
  type ReadinessCheck,
  type StreamReplicas,
  type TeamDirectory,
  type TokenIssuer,
} from '@platform/kit';
import type { CoordinationConfig } from './config.js';
import { Background } from './domain/background.js';
import { absorbHeartbeats } from './domain/heartbeats.js';
import { sweepAgentStatus, sweepLeases } from './domain/liveness.js';
import type { Claimant, CoordinationDeps } from './domain/deps.js';
import { Enrolment, type EnrolmentDeps } from './domain/enrolment.js';
import type { TaskAccess } from './domain/task-access.js';
import { fireDueSchedules } from './domain/schedules.js';
import { natsHeartbeatInbox } from './events/heartbeat-inbox.js';
import { outboxRelay, sweepOutbox } from './events/outbox.js';
import { WorkNotifier } from './events/work-notifier.js';
import { jetStreamWorkQueues } from './events/work-queues.js';
import { createCoordinationRouter } from './router/index.js';
import { AgentRecord, Lease, Liveness } from './store/agent-record.js';
import { HeartbeatKeyRecord } from './store/heartbeat-keys.js';
import { JobRecord } from './store/job-record.js';
import { KvCache } from './store/kv-cache.js';
import { openOutboxStore } from './store/outbox-store.js';
import { queueDepths } from './store/queue-depths.js';
import { ScheduleRecord } from './store/schedule-record.js';
import { ensureCoordinationStreams, type CoordinationStreamLimits } from './events/streams.js';
import { openTypedKv } from './store/typed-kv.js';
import { COORDINATION_BUCKETS } from '@platform/contracts';

export interface Coordination {
  deps: CoordinationDeps;
  router: ReturnType<typeof createCoordinationRouter>;
  /** What the enrolment procedures need (main.ts builds its router before NATS is reached). */
  enrolment: EnrolmentDeps;
  readiness: Record<string, ReadinessCheck>;
  /** Stops the background loops and watchers (the NATS connection is the caller's). */
  stop(): Promise<void>;
}

type Config = Pick<
  CoordinationConfig,
  | 'CLAIM_WAIT_MS'
  | 'CLAIM_RESWEEP_MS'
  | 'OUTBOX_SWEEP_MS'
  | 'OUTBOX_MIN_AGE_MS'
  | 'HEARTBEAT_INTERVAL_MS'
  | 'AGENT_OFFLINE_AFTER_MS'
  | 'STUCK_GRACE_MS'
  | 'LIVENESS_SWEEP_MS'
  | 'SCHEDULER_TICK_MS'
  | 'AGENT_TOKEN_TTL_S'
>;

/**
 * Builds the service on a NATS connection: streams and buckets, stores and their mirrors, the
 * work notifier, the router, and the loops every replica runs (outbox, liveness, leases,
 * schedules), heartbeats over NATS. Shared by main.ts and the integration tests.
 */
export async function startCoordination(opts: {
  nc: NatsConnection;
  config: Config;
  log: Logger;
  /** Signs the agent tokens enrolment hands out (coordination's own key). */
  issuer: TokenIssuer;
  /** Who is in which team (team members see the team's jobs and schedules). */
  teams: TeamDirectory;
  /** Asks operations whether a caller may change a task a job would target. */
  taskAccess: TaskAccess;
  clock?: Clock;
  newId?: IdGenerator;
  /** Retention of the event, job and dead-job streams; default DEFAULT_COORDINATION_LIMITS. */
  streamLimits?: CoordinationStreamLimits;
  /** Copies of each stream and bucket (NATS_STREAM_REPLICAS); default one. */
  replicas?: StreamReplicas;
}): Promise<Coordination> {
  const { nc, config, log } = opts;
  await ensureCoordinationStreams(nc, {
    agentTtlMs: config.AGENT_OFFLINE_AFTER_MS,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    ...(opts.replicas ? { replicas: opts.replicas } : {}),
    ...(opts.streamLimits ? { limits: opts.streamLimits } : {}),
  });
  const js = nc.jetstream();
  const stores = {
    jobs: await openOutboxStore(js, COORDINATION_BUCKETS.jobs, COORDINATION_BUCKETS.jobsOutbox, JobRecord),
    agents: await openOutboxStore(js, COORDINATION_BUCKETS.agents, COORDINATION_BUCKETS.agentsOutbox, AgentRecord),
    liveness: await openTypedKv(js, COORDINATION_BUCKETS.liveness, Liveness),
    leases: await openTypedKv(js, COORDINATION_BUCKETS.leases, Lease),
    schedules: await openTypedKv(js, COORDINATION_BUCKETS.schedules, ScheduleRecord),
    heartbeatKeys: await openTypedKv(js, COORDINATION_BUCKETS.heartbeatKeys, HeartbeatKeyRecord),
  };
  const caches = {
    agents: new KvCache(stores.agents.records, log).start(),
    liveness: new KvCache(stores.liveness, log).start(),
    schedules: new KvCache(stores.schedules, log).start(),
    heartbeatKeys: new KvCache(stores.heartbeatKeys, log).start(),
  };
  await Promise.all(Object.values(caches).map((c) => c.ready));
  const notifier = new WorkNotifier<JobRecord, Claimant>(config.CLAIM_RESWEEP_MS).start(nc);

  const background = new Background(log);
  const relay = { js, log, background };
  const deps: CoordinationDeps = {
    queueDepths: () => queueDepths(js),
    stores,
    caches,
    notifier,
    outbox: outboxRelay(relay),
    workQueues: jetStreamWorkQueues(js),
    heartbeats: natsHeartbeatInbox(js),
    background,
    clock: opts.clock ?? systemClock,
    newId: opts.newId ?? uuid,
    log,
    teams: opts.teams,
    taskAccess: opts.taskAccess,
    settings: {
      heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
      staleAfterMs: 2 * config.HEARTBEAT_INTERVAL_MS,
      offlineAfterMs: config.AGENT_OFFLINE_AFTER_MS,
      stuckGraceMs: config.STUCK_GRACE_MS,
      claimWaitMs: config.CLAIM_WAIT_MS,
      claimResweepMs: config.CLAIM_RESWEEP_MS,
      outboxMinAgeMs: config.OUTBOX_MIN_AGE_MS,
    },
  };

  // Every replica runs every loop: the writes they make are compare-and-set or deduped, so
  // several replicas agree instead of needing a leader.
  const leaseChecks = new Map<string, number>();
  // The kit's drain loop: never two passes at once, a failed pass logged and retried at the next tick.
  const every = (name: string, intervalMs: number, pass: () => Promise<unknown>) =>
    startDrainLoop({
      name: `${name} loop`,
      intervalMs,
      log,
      drain: async () => {
        await pass();
        return false; // one pass per tick: nothing to drain right away
      },
    });
  const loops = [
    every('outbox', config.OUTBOX_SWEEP_MS, async () => {
      await sweepOutbox(relay, stores.jobs, config.OUTBOX_MIN_AGE_MS, deps.clock());
      await sweepOutbox(relay, stores.agents, config.OUTBOX_MIN_AGE_MS, deps.clock());
    }),
    every('liveness', config.LIVENESS_SWEEP_MS, async () => {
      // Heartbeats over NATS first, so the sweep sees them; a failure there must not stop the sweeps.
      await absorbHeartbeats(deps).catch((err: unknown) =>
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not take heartbeats from NATS; will retry'),
      );
      await sweepAgentStatus(deps);
      await sweepLeases(deps, leaseChecks);
    }),
    every('schedules', config.SCHEDULER_TICK_MS, () => fireDueSchedules(deps)),
  ];

  const enrolment: EnrolmentDeps = {
    enrolments: await openTypedKv(js, COORDINATION_BUCKETS.enrolments, Enrolment),
    issuer: opts.issuer,
    clock: deps.clock,
    agentTokenTtlSeconds: config.AGENT_TOKEN_TTL_S,
  };
  const readiness: Record<string, ReadinessCheck> = { nats: () => nc.flush() };
  for (const bucket of Object.values(COORDINATION_BUCKETS)) {
    readiness[`kv:${bucket}`] = async () => (await js.views.kv(bucket, { bindOnly: true })).status();
  }

  return {
    deps,
    router: createCoordinationRouter(deps, enrolment),
    enrolment,
    readiness,
    stop: async () => {
      notifier.stop();
      await Promise.all(loops.map((l) => l.stop()));
      await deps.background.idle();
      for (const c of Object.values(caches)) c.stop();
    },
  };
}
