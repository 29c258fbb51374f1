import { connectNats, createLogger, issuerFromEnv, limitSettings, onShutdown, serviceTokens, startServiceServer, natsTeamDirectory, verifierFromEnv } from '@platform/kit';
import { corsSettings } from '@platform/kit';
import { asyncApiDocument } from '@platform/kit';
import { startCoordination } from './app.js';
import { cachedPrincipalFromHeader } from './auth-cache.js';
import { operationsTaskAccess } from './clients/operations.js';
import { loadCoordinationConfig } from './config.js';
import { coordinationContextFactory } from './context.js';

// Wiring only: config, clients, server, shutdown.
const config = loadCoordinationConfig();
const log = createLogger('coordination', config.LOG_LEVEL);
// Coordination signs agent tokens (enrolment) and its own service tokens; it verifies everyone's by public key.
const issuer = issuerFromEnv(config, 'coordination');
const tokens = serviceTokens(issuer);

const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'coordination', log });
// One token cache for tRPC requests and heartbeats over NATS: agents send the same token in both.
const verifyToken = cachedPrincipalFromHeader(verifierFromEnv(config));
// Who is in which team: what operations publishes to the TEAM_MEMBERSHIP bucket, cached briefly.
const teams = natsTeamDirectory(nc, { ttlMs: 3_000 });
// A task a job targets is checked with operations AS THE CALLER (a token coordination signs on its behalf).
const taskAccess = operationsTaskAccess({ baseUrl: config.OPERATIONS_URL, timeoutMs: config.OPERATIONS_TIMEOUT_MS, tokens });
const coordination = await startCoordination({ nc, config, log, verifyToken, issuer, teams, taskAccess });

const server = await startServiceServer({
  name: 'coordination',
  router: coordination.router,
  createContext: coordinationContextFactory(verifyToken, log),
  readiness: coordination.readiness,
  openapi: { title: 'Coordination service', version: '0.2.0' },
  // Its own subjects only: during a rollout each service is the authority on what it publishes now.
  asyncapi: () => asyncApiDocument({ services: ['coordination'], version: '0.2.0' }),
  log,
  limits: limitSettings(config),
  cors: corsSettings(config),
  host: config.HOST,
  port: config.PORT,
  readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
});
log.info({ url: server.url }, 'coordination listening');

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, [
  ['http', () => server.close()],
  ['loops', () => coordination.stop()],
  ['nats', () => nc.drain()],
]);
