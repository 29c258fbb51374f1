import { connectNats, contextFactory, createLogger, onShutdown, startServiceServer, systemClock, uuid } from '@platform/kit';
import { knowledgeClient } from './clients/knowledge.js';
import { loadOperationsConfig } from './config.js';
import { startJobResultsConsumer } from './events/job-results.js';
import { startOperationsOutbox } from './events/outbox.js';
import { ensureOperationsStream } from './events/streams.js';
import { createOperationsRouter } from './router/index.js';
import { createDb } from './store/prisma.js';

// Wiring only: config, clients, server, shutdown.
const config = loadOperationsConfig();
const log = createLogger('operations', config.LOG_LEVEL);
const jwt = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };

const db = createDb(config.DATABASE_URL);
await db.$queryRaw`SELECT 1`;
const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'operations', log });
await ensureOperationsStream(nc);
const relay = startOperationsOutbox(db, nc.jetstream(), log, config.OUTBOX_POLL_MS);
const knowledge = knowledgeClient({ baseUrl: config.KNOWLEDGE_URL, timeoutMs: config.KNOWLEDGE_TIMEOUT_MS, jwt });

const server = await startServiceServer({
  name: 'operations',
  router: createOperationsRouter({ db, knowledge, clock: systemClock, newId: uuid, afterWrite: () => relay.poke() }),
  createContext: contextFactory(jwt, log),
  readiness: {
    postgres: () => db.$queryRaw`SELECT 1`,
    nats: () => nc.flush(),
  },
  openapi: { title: 'Operations service', version: '0.1.0' },
  log,
  host: config.HOST,
  port: config.PORT,
  readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
});
log.info({ url: server.url }, 'operations listening');

// Consumers start after the server so /healthz answers while coordination's stream may not exist yet.
const jobResults = startJobResultsConsumer(nc, { db, clock: systemClock, newId: uuid, log }, log);

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, [
  ['http', () => server.close()],
  ['consumers', async () => (await jobResults).stop()],
  ['outbox', () => relay.stop()],
  ['nats', () => nc.drain()],
  ['postgres', () => db.$disconnect()],
]);
