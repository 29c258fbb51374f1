import { connectNats, contextFactory, createLogger, onShutdown, startServiceServer, staticTeamDirectory, systemClock, uuid } from '@platform/kit';
import { graphSettings, loadKnowledgeConfig } from './config.js';
import { startKnowledgeOutbox } from './events/outbox.js';
import { ensureKnowledgeStream } from './events/streams.js';
import { createKnowledgeRouter } from './router/index.js';
import { connectGraph } from './store/neo4j.js';
import { bootstrapSchema, schemaStatus } from './store/schema.js';

// Wiring only: config, clients, server, shutdown.
const config = loadKnowledgeConfig();
const log = createLogger('knowledge', config.LOG_LEVEL);
const jwt = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };

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
    // TODO(wiring): the NATS-backed directory fed by operations replaces this; until then no user is
    // in any team, so users see only their own records (services and admins see everything).
    teams: staticTeamDirectory(),
  }),
  createContext: contextFactory(jwt, log),
  readiness: {
    neo4j: () => graph.driver.getServerInfo({ database: graph.database }),
    nats: () => nc.flush(),
  },
  openapi: { title: 'Knowledge service', version: '0.1.0' },
  log,
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
