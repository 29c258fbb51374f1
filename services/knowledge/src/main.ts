import {
  connectNatsInBackground,
  contextFactory,
  createLogger,
  deadLetterLimits,
  eventStreamLimits,
  streamReplicas,
  exitOnStartRefused,
  natsTeamDirectory,
  onShutdown,
  requireStarted,
  serverSettings,
  serviceDocuments,
  startInBackground,
  startServiceServer,
  systemClock,
  uuid,
  verifierFromEnv,
  type OutboxRelay,
  type TeamDirectory,
} from '@platform/kit';
import { metricsHandler } from '@platform/otel';
import { graphSettings, loadKnowledgeConfig } from './config.js';
import { consoleRoutes } from './console.js';
import { observeKnowledgeMetrics } from './metrics.js';
import { startKnowledgeOutbox } from './events/outbox.js';
import { startRunRecorder, type RunRecorder } from './events/recorder.js';
import { ensureKnowledgeStream } from './events/streams.js';
import { createKnowledgeRouter } from './router/index.js';
import { createGraph } from './store/neo4j.js';
import { bootstrapSchema, schemaStatus } from './store/schema.js';

// Wiring only: config, clients, server, shutdown.
const config = loadKnowledgeConfig();
// Copies of each stream and KV bucket this service creates (NATS_STREAM_REPLICAS, 3 on a three-node cluster).
const replicas = streamReplicas(config);
const log = createLogger('knowledge', config.LOG_LEVEL);
// Knowledge only verifies tokens (public keys); it signs none, so it holds no private key.
const verifier = verifierFromEnv(config);

// Neo4j and NATS are reached in the background, with retry and backoff: knowledge starts while
// either is down, answers /healthz, names it on /readyz, refuses calls with SERVICE_UNAVAILABLE
// until both were reached (and the schema bootstrapped), and needs no restart when they come up.
const graph = createGraph(graphSettings(config));
const schemaOptions = { embeddingDimensions: config.EMBEDDING_DIMENSIONS };
const neo4j = startInBackground({
  name: 'neo4j',
  log,
  start: async () => {
    await graph.driver.verifyConnectivity({ database: graph.database });
    log.info(await bootstrapSchema(graph, schemaOptions), 'neo4j schema ready');
    // IF NOT EXISTS keeps an existing index as it is (e.g. a vector index of another dimension): say so.
    const schemaCheck = await schemaStatus(graph, schemaOptions);
    if (!schemaCheck.ok)
      log.warn(
        { differences: schemaCheck.rows.filter((r) => r.status !== 'ok' && r.status !== 'unexpected') },
        'neo4j schema differs from what this code expects; see `schema:status`',
      );
  },
});
const nats = connectNatsInBackground(
  { url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'knowledge', log },
  (nc) => ensureKnowledgeStream(nc, eventStreamLimits(config), replicas),
);
exitOnStartRefused(log, neo4j, nats);

// Who is in which team: what operations publishes to the TEAM_MEMBERSHIP bucket, cached briefly.
// Made on first use: calls only get here once NATS was reached (the gate below).
let teamDirectory: TeamDirectory | undefined;
const teams: TeamDirectory = {
  teamsOf: (userId) => (teamDirectory ??= natsTeamDirectory(nats.require().nc, { ttlMs: 3_000 })).teamsOf(userId),
};
// The outbox relay starts once both stores were reached; from then on it rides out outages by itself.
// It hears of every committed write that made events from the graph handle (writeTx rings
// graph.outboxWritten), so neither the router nor the run recorder pokes it.
let relay: OutboxRelay | undefined;
void Promise.all([neo4j.ready, nats.ready]).then(
  ([, { nc }]) => (relay = startKnowledgeOutbox(graph, nc.jetstream(), log, config.OUTBOX_POLL_MS)),
  () => undefined, // a refusal exits (exitOnStartRefused); a start abandoned at shutdown starts nothing
);
// The platform's sagas, tasks and jobs recorded as runs, from operations' and coordination's events.
let recorder: RunRecorder | undefined;
void Promise.all([neo4j.ready, nats.ready]).then(
  ([, { nc }]) =>
    (recorder = startRunRecorder(
      nc,
      { graph, clock: systemClock, newId: uuid, log },
      log,
      deadLetterLimits(config),
      replicas,
      config.RUN_RECORDER_CONCURRENCY,
    )),
  () => undefined,
);

const server = await startServiceServer({
  name: 'knowledge',
  router: createKnowledgeRouter({
    graph,
    clock: systemClock,
    newId: uuid,
    embeddingDimensions: config.EMBEDDING_DIMENSIONS,
    teams,
  }),
  createContext: contextFactory(verifier, log),
  readiness: {
    neo4j: neo4j.readiness(() => graph.driver.getServerInfo({ database: graph.database })),
    nats: nats.readiness(({ nc }) => nc.flush()),
  },
  gate: requireStarted(neo4j, nats),
  ...serviceDocuments('knowledge', 'Knowledge service', '0.1.0'),
  log,
  ...serverSettings(config),
  metrics: metricsHandler(),
  // The operator console (console/, built into dist/console): runs, agents and queues for people.
  extraRoutes: consoleRoutes({ coordinationUrl: config.CONSOLE_COORDINATION_URL }),
});
// Gauges read at scrape time (Neo4j use, outbox backlog); a store that is down leaves them out.
observeKnowledgeMetrics(graph, { nats: () => nats.current()?.nc });
log.info({ url: server.url }, 'knowledge listening');

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, [
  ['http', () => server.close()],
  ['background starts', async () => [neo4j, nats].forEach((s) => s.stop())],
  ['run recorder', async () => recorder?.stop()],
  ['outbox', async () => relay?.stop()],
  ['nats', async () => nats.current()?.nc.drain()],
  ['neo4j', () => graph.driver.close()],
]);
