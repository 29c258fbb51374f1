import { connectNats, contextFactory, createLogger, onShutdown, startServiceServer, systemClock, uuid } from '@platform/kit';
import { loadCoordinationConfig } from './config.js';
import { sweepOutbox, type JobDeps } from './domain/jobs.js';
import { createCoordinationRouter } from './router/index.js';
import { openJobStore } from './store/jobs.js';
import { ensureCoordinationStreams, JOBS_BUCKET } from './store/streams.js';

// Wiring only: config, clients, server, shutdown.
const config = loadCoordinationConfig();
const log = createLogger('coordination', config.LOG_LEVEL);
const jwt = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };

const nc = await connectNats({ url: config.NATS_URL, user: config.NATS_USER, password: config.NATS_PASSWORD, name: 'coordination', log });
await ensureCoordinationStreams(nc);
const js = nc.jetstream();
const deps: JobDeps = { nc, js, store: await openJobStore(nc), clock: systemClock, newId: uuid, log };

// Sends what a crash or a NATS outage left unsent; every replica may run it (publishes are deduped).
const sweep = setInterval(() => {
  sweepOutbox(deps).catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox sweep failed'));
}, config.OUTBOX_SWEEP_MS);

const server = await startServiceServer({
  name: 'coordination',
  router: createCoordinationRouter({ ...deps, claimWaitMs: config.CLAIM_WAIT_MS }),
  createContext: contextFactory(jwt, log),
  readiness: {
    nats: () => nc.flush(),
    kv: async () => (await js.views.kv(JOBS_BUCKET, { bindOnly: true })).status(),
  },
  openapi: { title: 'Coordination service', version: '0.1.0' },
  log,
  host: config.HOST,
  port: config.PORT,
  readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
});
log.info({ url: server.url }, 'coordination listening');

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, [
  ['http', () => server.close()],
  ['sweep', async () => clearInterval(sweep)],
  ['nats', () => nc.drain()],
]);
