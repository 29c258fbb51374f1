import {
  connectNatsInBackground,
  contextFactory,
  createLogger,
  deadLetterLimits,
  eventStreamLimits,
  streamReplicas,
  exitOnStartRefused,
  issuerFromEnv,
  onShutdown,
  requireStarted,
  serverSettings,
  serviceDocuments,
  serviceTokens,
  startInBackground,
  StartRefused,
  startServiceServer,
  systemClock,
  uuid,
  verifierFromEnv,
  type BackgroundStart,
  type OutboxRelay,
  type RunningConsumer,
} from '@platform/kit';
import { metricsHandler } from '@platform/otel';
import { knowledgeClient } from './clients/knowledge.js';
import { loadOperationsConfig } from './config.js';
import { SagaOrchestrator } from './domain/sagas/orchestrator.js';
import { productionSagas } from './domain/sagas/registry.js';
import { startAgentStuckConsumer } from './events/agent-stuck.js';
import { startJobResultsConsumer } from './events/job-results.js';
import { startOperationsOutbox } from './events/outbox.js';
import { startOperationsRetention } from './events/retention.js';
import { ensureOperationsStream } from './events/streams.js';
import { startTeamDirectoryPublisher, type TeamDirectoryPublisher } from './events/team-directory.js';
import { roleRefusal } from './domain/role-check.js';
import { connectedRoleFacts } from './store/role.js';
import { createOperationsRouter } from './router/index.js';
import { observeOperationsMetrics } from './metrics.js';
import { createDbOnPool } from './store/prisma.js';
import { createPool, poolRunner } from './store/sql.js';
import { startWriteListener, type WriteListener } from './store/write-listener.js';

// Wiring only: config, clients, server, shutdown.
const config = loadOperationsConfig();
// Copies of each stream and KV bucket this service creates (NATS_STREAM_REPLICAS, 3 on a three-node cluster).
const replicas = streamReplicas(config);
const log = createLogger('operations', config.LOG_LEVEL);
const verifier = verifierFromEnv(config);
// Operations signs its own service tokens and tokens on its callers' behalf (calls to knowledge).
const tokens = serviceTokens(issuerFromEnv(config, 'operations'));

const poolError = (err: Error) => log.warn({ err: err.message }, 'postgres connection lost; the pool reconnects');
// Prisma runs on a pool made here, so /metrics can report its use beside the event store's pool.
const dbPool = createPool(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, onError: poolError });
const db = createDbOnPool(dbPool);
// Postgres and NATS are reached in the background, with retry and backoff: operations starts while
// either is down, answers /healthz, names it on /readyz, refuses calls with SERVICE_UNAVAILABLE until
// Postgres was reached, and needs no restart when they come up.
const postgres = startInBackground({
  name: 'postgres',
  log,
  start: async () => {
    await db.$queryRaw`SELECT 1`;
    // Row-level security is the second layer of isolation only on a role it applies to: a role that
    // Postgres says is unsafe is refused for good (exit), not retried.
    const refusal = roleRefusal(await connectedRoleFacts(db));
    if (refusal) throw new StartRefused(refusal);
  },
});
// The event store's statements run on node-postgres directly (see store/sql.ts): a second, smaller pool.
const eventPool = createPool(config.DATABASE_URL, { max: Math.max(2, Math.ceil(config.DATABASE_POOL_MAX / 2)), onError: poolError });
const nats = connectNatsInBackground(
  { url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'operations', log },
  (nc) => ensureOperationsStream(nc, eventStreamLimits(config), replicas),
);
exitOnStartRefused(log, postgres, nats);
const knowledge = knowledgeClient({ baseUrl: config.KNOWLEDGE_URL, timeoutMs: config.KNOWLEDGE_TIMEOUT_MS, tokens });
const core = { db, sql: poolRunner(eventPool), clock: systemClock, newId: uuid };
// Started once both stores were reached (below): the outbox relay, and the team directory publisher.
// Both hear of committed writes from Postgres (the write listener's LISTEN, rung by the outbox's and
// the directory queue's NOTIFY triggers), whoever wrote them: no router or saga step pokes them.
let writes: WriteListener | undefined;
let relay: OutboxRelay | undefined;
let retention: { stop(): Promise<void> } | undefined;
let directory: BackgroundStart<TeamDirectoryPublisher> | undefined;
const registry = productionSagas(core);
const sagas = new SagaOrchestrator({
  ...core,
  registry,
  owner: config.INSTANCE_ID,
  leaseMs: config.SAGA_LEASE_MS,
  // Renewals on the write listener's session (no step work queues there; no extra connection), the
  // event pool while it is down.
  leaseSql: () => writes?.session(),
  pollMs: config.SAGA_POLL_MS,
  maxConcurrent: config.SAGA_CONCURRENCY,
  log: log.child({ component: 'sagas' }),
});

const server = await startServiceServer({
  name: 'operations',
  router: createOperationsRouter({ ...core, knowledge, registry, pokeSagas: () => sagas.poke() }),
  createContext: contextFactory(verifier, log),
  readiness: {
    postgres: postgres.readiness(() => db.$queryRaw`SELECT 1`),
    nats: nats.readiness(({ nc }) => nc.flush()),
  },
  // Every procedure reads or writes Postgres; events wait in the outbox while NATS is away.
  gate: requireStarted(postgres),
  ...serviceDocuments('operations', 'Operations service', '0.1.0'),
  log,
  ...serverSettings(config),
  metrics: metricsHandler(),
});
log.info({ url: server.url, instance: config.INSTANCE_ID }, 'operations listening');

// What runs on the stores starts once they were reached, after the server (so /healthz answers
// meanwhile; coordination's stream may not exist yet either): the saga orchestrator on Postgres;
// the outbox relay, the team directory (NATS KV TEAM_MEMBERSHIP, resynced on start) and the
// consumers of coordination's events on both. Each rides out later outages by itself.
const consumerDeps = { ...core, log };
const consumers: Array<Promise<RunningConsumer>> = [];
void postgres.ready.then(
  () => sagas.start(),
  () => undefined,
);
void Promise.all([postgres.ready, nats.ready]).then(
  ([, { nc }]) => {
    const listener = (writes = startWriteListener({ connectionString: config.DATABASE_URL, log }));
    relay = startOperationsOutbox(db, listener.outboxWritten, nc.jetstream(), log, config.OUTBOX_POLL_MS);
    // Sent outbox rows and processed-event markers are deleted after their retention (README).
    retention = startOperationsRetention({ sql: core.sql, nc, log, config });
    directory = startInBackground({
      name: 'team directory',
      log,
      start: () =>
        startTeamDirectoryPublisher({
          sql: core.sql,
          nc,
          log,
          intervalMs: config.OUTBOX_POLL_MS,
          written: listener.teamDirectoryWritten,
          replicas,
        }),
    });
    // Gauges read at scrape time: both pools, the outbox backlog, the lag of the consumers started here.
    observeOperationsMetrics({ pools: { prisma: dbPool, sql: eventPool }, sql: core.sql, nc });
    consumers.push(
      startJobResultsConsumer(nc, consumerDeps, log, deadLetterLimits(config), replicas),
      startAgentStuckConsumer(nc, consumerDeps, log, deadLetterLimits(config), replicas),
    );
  },
  () => undefined, // a refusal exits (exitOnStartRefused); a start abandoned at shutdown starts nothing
);

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, [
  ['http', () => server.close()],
  ['background starts', async () => [postgres, nats, directory].forEach((s) => s?.stop())],
  ['consumers', async () => Promise.all(consumers.map(async (c) => (await c).stop()))],
  ['sagas', () => sagas.stop()],
  ['outbox', async () => relay?.stop()],
  ['retention', async () => retention?.stop()],
  ['team directory', async () => directory?.current()?.stop()],
  ['write listener', async () => writes?.stop()],
  ['nats', async () => nats.current()?.nc.drain()],
  ['postgres', () => Promise.all([db.$disconnect(), eventPool.end()])],
]);
