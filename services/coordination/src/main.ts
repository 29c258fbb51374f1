import {
  connectNatsInBackground,
  contextFactory,
  createLogger,
  deadLetterLimits,
  deferred,
  eventStreamLimits,
  exitOnStartRefused,
  issuerFromEnv,
  natsTeamDirectory,
  onShutdown,
  requireStarted,
  serverSettings,
  serviceDocuments,
  serviceTokens,
  startServiceServer,
  streamReplicas,
  verifierFromEnv,
} from '@platform/kit';
import { metricsHandler } from '@platform/otel';
import { startCoordination } from './app.js';
import { operationsTaskAccess } from './clients/operations.js';
import { loadCoordinationConfig } from './config.js';
import { createCoordinationRouter } from './router/index.js';
import { observeCoordinationMetrics } from './metrics.js';
import { COORDINATION_BUCKETS } from '@platform/contracts';

// Wiring only: config, clients, server, shutdown.
const config = loadCoordinationConfig();
const log = createLogger('coordination', config.LOG_LEVEL);
// Coordination signs agent tokens (enrolment) and its own service tokens; it verifies everyone's by public key.
const issuer = issuerFromEnv(config, 'coordination');
const tokens = serviceTokens(issuer);

// Tokens are verified once and cached until they expire (the kit's verifier, AUTH_VERIFIED_TOKEN_CACHE);
// heartbeats over NATS carry no token: they are signed (domain/heartbeats.ts).
const verifier = verifierFromEnv(config);
// A task a job targets is checked with operations AS THE CALLER (a token coordination signs on its behalf).
const taskAccess = operationsTaskAccess({ baseUrl: config.OPERATIONS_URL, timeoutMs: config.OPERATIONS_TIMEOUT_MS, tokens });
const streamLimits = { events: eventStreamLimits(config), deadJobs: deadLetterLimits(config), jobsMaxBytes: config.JOBS_STREAM_MAX_BYTES };
// NATS is coordination's store (streams and KV buckets). It is reached in the background, with retry
// and backoff: coordination starts while NATS is down, answers /healthz, names nats on /readyz,
// refuses calls with SERVICE_UNAVAILABLE until NATS was reached and its streams and buckets made,
// and needs no restart when it comes up. Once connected, nats.js reconnects by itself.
const nats = connectNatsInBackground(
  { url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'coordination', log },
  (nc) =>
    // Who is in which team: what operations publishes to the TEAM_MEMBERSHIP bucket, cached briefly.
    startCoordination({
      nc,
      config,
      log,
      issuer,
      teams: natsTeamDirectory(nc, { ttlMs: 3_000 }),
      taskAccess,
      streamLimits,
      replicas: streamReplicas(config),
    }),
);
exitOnStartRefused(log, nats);
const coordination = () => nats.require().prepared;
// /readyz names the same checks as before (nats and each bucket); each fails until NATS was reached.
const readiness = Object.fromEntries(
  ['nats', ...Object.values(COORDINATION_BUCKETS).map((b) => `kv:${b}`)].map((name) => [
    name,
    nats.readiness(async ({ prepared }, signal) => {
      const check = prepared.readiness[name];
      if (!check) throw new Error(`no readiness check ${name}`);
      return check(signal);
    }),
  ]),
);

const server = await startServiceServer({
  name: 'coordination',
  // Built now over dependencies read at each call: procedures only run once NATS was reached (gate).
  router: createCoordinationRouter(
    deferred(() => coordination().deps),
    deferred(() => coordination().enrolment),
  ),
  createContext: contextFactory(verifier, log),
  readiness,
  gate: requireStarted(nats),
  ...serviceDocuments('coordination', 'Coordination service', '0.2.0'),
  log,
  ...serverSettings(config),
  metrics: metricsHandler(),
});
// Gauges read at scrape time: consumer lag, queue depth, agents by status, outbox markers (once NATS was reached).
void nats.ready.then(
  ({ nc, prepared }) => observeCoordinationMetrics({ nc, agents: prepared.deps.caches.agents }),
  () => undefined,
);
log.info({ url: server.url }, 'coordination listening');

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, [
  ['http', () => server.close()],
  ['background start', async () => nats.stop()],
  ['loops', async () => nats.current()?.prepared.stop()],
  ['nats', async () => nats.current()?.nc.drain()],
]);
