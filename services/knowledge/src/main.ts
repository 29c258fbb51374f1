import { connectNats, contextFactory, createLogger, limitSettings, onShutdown, startServiceServer, natsTeamDirectory, systemClock, uuid, verifierFromEnv } from '@platform/kit';
import { graphSettings, loadKnowledgeConfig } from './config.js';
import { startKnowledgeOutbox } from './events/outbox.js';
import { ensureKnowledgeStream } from './events/streams.js';
import { createKnowledgeRouter } from './router/index.js';
import { connectGraph } from './store/neo4j.js';
import { bootstrapSchema, schemaStatus } from './store/schema.js';

// Wiring only: config, clients, server, shutdown.
const config = loadKnowledgeConfig();
const log = createLogger('knowledge', config.LOG_LEVEL);
// Knowledge only verifies tokens (public keys); it signs none, so it holds no private key.
const verifier = verifierFromEnv(config);

const graph = await connectGraph(graphSettings(config));
const schemaOptions = { embeddingDimensions: config.EMBEDDING_DIMENSIONS };
log.info(await bootstrapSchema(graph, schemaOptions), 'neo4j schema ready');
// IF NOT EXISTS keeps an existing index as it is (e.g. a vector index of another dimension): say so.
const schemaCheck = await schemaStatus(graph, schemaOptions);
if (!schemaCheck.ok) log.warn({ differences: schemaCheck.rows.filter((r) => r.status !== 'ok' && r.status !== 'unexpected') }, 'neo4j schema differs from what this code expects; see `schema:status`');

const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'knowledge', log });
await ensureKnowledgeStream(nc);
const relay = startKnowledgeOutbox(graph, nc.jetstream(), log, config.OUTBOX_POLL_MS);

const server = await startServiceServer({
  name: 'knowledge',
  router: createKnowledgeRouter({
    graph,
    clock: systemClock,
    newId: uuid,
    afterWrite: () => relay.poke(),
    embeddingDimensions: config.EMBEDDING_DIMENSIONS,
    // Who is in which team: what operations publishes to the TEAM_MEMBERSHIP bucket, cached briefly.
    teams: natsTeamDirectory(nc, { ttlMs: 3_000 }),
  }),
  createContext: contextFactory(verifier, log),
  readiness: {
    neo4j: () => graph.driver.getServerInfo({ database: graph.database }),
    nats: () => nc.flush(),
  },
  openapi: { title: 'Knowledge service', version: '0.1.0' },
  log,
  limits: limitSettings(config),
  host: config.HOST,
  port: config.PORT,
  readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
});
log.info({ url: server.url }, 'knowledge listening');

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, [
  ['http', () => server.close()],
  ['outbox', () => relay.stop()],
  ['nats', () => nc.drain()],
  ['neo4j', () => graph.driver.close()],
]);
