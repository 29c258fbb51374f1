import { connectNats, createLogger, onShutdown, startServiceServer } from '@platform/kit';
import { startCoordination } from './app.js';
import { cachedPrincipalFromHeader } from './auth-cache.js';
import { loadCoordinationConfig } from './config.js';
import { coordinationContextFactory } from './context.js';

// Wiring only: config, clients, server, shutdown.
const config = loadCoordinationConfig();
const log = createLogger('coordination', config.LOG_LEVEL);
const jwt = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };

const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'coordination', log });
// One token cache for tRPC requests and heartbeats over NATS: agents send the same token in both.
const verifyToken = cachedPrincipalFromHeader(jwt);
const coordination = await startCoordination({ nc, config, log, verifyToken });

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
