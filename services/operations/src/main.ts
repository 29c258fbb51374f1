import { connectNats, contextFactory, createLogger, issuerFromEnv, limitSettings, onShutdown, serviceTokens, startServiceServer, systemClock, uuid, verifierFromEnv } from '@platform/kit';
import { knowledgeClient } from './clients/knowledge.js';
import { loadOperationsConfig } from './config.js';
import { SagaOrchestrator } from './domain/sagas/orchestrator.js';
import { productionSagas } from './domain/sagas/registry.js';
import { startAgentStuckConsumer } from './events/agent-stuck.js';
import { startJobResultsConsumer } from './events/job-results.js';
import { startOperationsOutbox } from './events/outbox.js';
import { ensureOperationsStream } from './events/streams.js';
import { startTeamDirectoryPublisher } from './events/team-directory.js';
import { roleRefusal } from './domain/role-check.js';
import { connectedRoleFacts } from './store/role.js';
import { createOperationsRouter } from './router/index.js';
import { createDb } from './store/prisma.js';
import { createPool, poolRunner } from './store/sql.js';

// Wiring only: config, clients, server, shutdown.
const config = loadOperationsConfig();
const log = createLogger('operations', config.LOG_LEVEL);
const verifier = verifierFromEnv(config);
// Operations signs its own service tokens and tokens on its callers' behalf (calls to knowledge).
const tokens = serviceTokens(issuerFromEnv(config, 'operations'));

const poolError = (err: Error) => log.warn({ err: err.message }, 'postgres connection lost; the pool reconnects');
const db = createDb(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, onPoolError: poolError });
await db.$queryRaw`SELECT 1`;
// Row-level security is the second layer of isolation only on a role it applies to: refuse any other.
const refusal = roleRefusal(await connectedRoleFacts(db));
if (refusal) {
  log.fatal(refusal);
  await db.$disconnect();
  process.exit(1);
}
// The event store's statements run on node-postgres directly (see store/sql.ts): a second, smaller pool.
const eventPool = createPool(config.DATABASE_URL, { max: Math.max(2, Math.ceil(config.DATABASE_POOL_MAX / 2)), onError: poolError });
const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'operations', log });
await ensureOperationsStream(nc);
const relay = startOperationsOutbox(db, nc.jetstream(), log, config.OUTBOX_POLL_MS);
const knowledge = knowledgeClient({ baseUrl: config.KNOWLEDGE_URL, timeoutMs: config.KNOWLEDGE_TIMEOUT_MS, tokens });
const core = { db, sql: poolRunner(eventPool), clock: systemClock, newId: uuid };
// Team memberships → NATS KV (TEAM_MEMBERSHIP) for knowledge and coordination; resyncs on start.
const directory = await startTeamDirectoryPublisher({ sql: core.sql, nc, log, intervalMs: config.OUTBOX_POLL_MS });
const afterWrite = () => {
  relay.poke();
  directory.poke();
};
const registry = productionSagas(core);
const sagas = new SagaOrchestrator({
  ...core,
  registry,
  owner: config.INSTANCE_ID,
  leaseMs: config.SAGA_LEASE_MS,
  pollMs: config.SAGA_POLL_MS,
  maxConcurrent: config.SAGA_CONCURRENCY,
  log: log.child({ component: 'sagas' }),
  // Saga steps write outbox rows (and memberships) too: publish them promptly.
  onStep: afterWrite,
});

const server = await startServiceServer({
  name: 'operations',
  router: createOperationsRouter({ ...core, knowledge, registry, pokeSagas: () => sagas.poke(), afterWrite }),
  createContext: contextFactory(verifier, log),
  readiness: {
    postgres: () => db.$queryRaw`SELECT 1`,
    nats: () => nc.flush(),
  },
  openapi: { title: 'Operations service', version: '0.1.0' },
  log,
  limits: limitSettings(config),
  host: config.HOST,
  port: config.PORT,
  readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
});
log.info({ url: server.url, instance: config.INSTANCE_ID }, 'operations listening');

// Consumers and the saga orchestrator start after the server so /healthz answers while
// coordination's stream may not exist yet.
const consumerDeps = { ...core, log };
const jobResults = startJobResultsConsumer(nc, consumerDeps, log);
const agentStuck = startAgentStuckConsumer(nc, consumerDeps, log);
sagas.start();

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, [
  ['http', () => server.close()],
  ['consumers', async () => Promise.all([(await jobResults).stop(), (await agentStuck).stop()])],
  ['sagas', () => sagas.stop()],
  ['outbox', () => relay.stop()],
  ['team directory', () => directory.stop()],
  ['nats', () => nc.drain()],
  ['postgres', () => Promise.all([db.$disconnect(), eventPool.end()])],
]);
