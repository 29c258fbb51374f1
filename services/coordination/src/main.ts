import { connectNats, createLogger, onShutdown, startServiceServer, staticTeamDirectory } from '@platform/kit';
import { startCoordination } from './app.js';
import { cachedPrincipalFromHeader } from './auth-cache.js';
import { delegatedTokensNotWired, operationsTaskAccess } from './clients/operations.js';
import { loadCoordinationConfig } from './config.js';
import { coordinationContextFactory } from './context.js';

// Wiring only: config, clients, server, shutdown.
const config = loadCoordinationConfig();
const log = createLogger('coordination', config.LOG_LEVEL);
const jwt = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };

const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'coordination', log });
// One token cache for tRPC requests and heartbeats over NATS: agents send the same token in both.
const verifyToken = cachedPrincipalFromHeader(jwt);
// TODO(wiring): the NATS-backed TeamDirectory (what operations publishes about teams) replaces this
// empty one; until then a user sees only their own jobs and schedules, not their teams'.
const teams = staticTeamDirectory();
// TODO(wiring): getTokenFor = delegated ("on behalf of") tokens from the kit; until then every job
// or schedule that targets a task is refused with a clear SERVICE_UNAVAILABLE.
const taskAccess = operationsTaskAccess({ baseUrl: config.OPERATIONS_URL, timeoutMs: config.OPERATIONS_TIMEOUT_MS, getTokenFor: delegatedTokensNotWired });
const coordination = await startCoordination({ nc, config, log, verifyToken, teams, taskAccess });

const server = await startServiceServer({
  name: 'coordination',
  router: coordination.router,
  createContext: coordinationContextFactory(verifyToken, log),
  readiness: coordination.readiness,
  openapi: { title: 'Coordination service', version: '0.2.0' },
  log,
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
