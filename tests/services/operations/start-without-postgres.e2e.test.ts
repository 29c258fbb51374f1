import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv, spawnService, waitForHttp, type ServiceProcess } from '../../../scripts/lib/processes.js';
import { eventually, tokenFor } from '../../../scripts/lib/test-system.js';
import { callProcedure } from '../../lib/http-call.js';
import { type PrivateNats, startPrivateNats } from '@platform/testkit';
import { startPrivatePostgres, type PrivatePostgres } from '@platform/testkit';

// Rule: operations starts while its Postgres is down, answers /healthz 200, /readyz 503 problem+json
// naming postgres, refuses calls with SERVICE_UNAVAILABLE and a message that names postgres, and
// becomes ready by itself once Postgres comes up — the same process, no restart. The startup role
// check is not skipped by this: a process connecting as a role row-level security does not apply to
// also waits while Postgres is down, and still refuses to start (exit 1) once Postgres answers.
// Postgres is a private cluster (tests/lib/private-postgres.ts), NATS a private server: operations
// resyncs the TEAM_MEMBERSHIP bucket from its database on start, which must not touch the shared one.
const ports = { knowledge: 4286, operations: 4284, coordination: 4291 };
const UNSAFE_PORT = 4285;
let db: PrivatePostgres | undefined;
let nats: PrivateNats | undefined;
let operations: ServiceProcess | undefined;
let unsafe: ServiceProcess | undefined;

beforeAll(async () => {
  nats = await startPrivateNats({ port: 4483, as: 'platform' });
  const natsEnv = { NATS_URL: nats.url, NATS_USER: nats.user, NATS_PASSWORD: nats.password };
  db = startPrivatePostgres(55497);
  db.migrate(); // the schema exists; only the server is down when the service starts
  db.stop();
  operations = spawnService(
    'operations',
    serviceEnv('operations', ports, { ...natsEnv, DATABASE_URL: db.databaseUrl }),
    'test-operations-start-without-postgres',
  );
  // The owner role (DATABASE_ADMIN_URL) owns the tables: row-level security cannot hold it.
  unsafe = spawnService(
    'operations',
    serviceEnv('operations', { ...ports, operations: UNSAFE_PORT }, { ...natsEnv, DATABASE_URL: db.adminUrl }),
    'test-operations-start-without-postgres-unsafe',
  );
});

afterAll(async () => {
  await Promise.allSettled([operations?.stop(), unsafe?.stop()]);
  db?.destroy();
  await nats?.destroy();
});

const createTask = async (title: string) =>
  callProcedure(
    ports,
    { service: 'operations', path: 'tasks.create', type: 'mutation' },
    { title },
    await tokenFor({ kind: 'user', id: 'no-store', roles: [] }),
  );

describe('operations started without Postgres', () => {
  it(
    'is alive, not ready (naming postgres), refuses calls, then becomes ready by itself when Postgres starts; an unsafe role still refuses to start',
    { timeout: 180_000 },
    async () => {
      const proc = operations!;
      await waitForHttp(`${proc.url}/healthz`, 60_000, proc);
      await waitForHttp(`http://127.0.0.1:${UNSAFE_PORT}/healthz`, 60_000, unsafe);

      const notReady = await eventually(
        () =>
          fetch(`${proc.url}/readyz`).then(async (r) => ({
            status: r.status,
            type: r.headers.get('content-type'),
            body: (await r.json()) as { failing: string[]; detail: string },
          })),
        (r) => r.status === 503 && r.body.failing.join() === 'postgres',
        20_000,
        'readyz 503 naming only postgres',
      );
      expect(notReady.type).toMatch(/^application\/problem\+json/);
      expect(notReady.body.detail).toBe('not ready: postgres');

      const refused = await createTask('while postgres is down');
      expect(refused.status).toBe(503);
      expect(refused.code).toBe('SERVICE_UNAVAILABLE');
      expect((refused.body as { error: { message: string } }).error.message).toMatch(
        /^postgres is unavailable: not reached since this service started/,
      );
      expect(refused.ms).toBeLessThan(2_000);
      expect((await fetch(`${proc.url}/healthz`)).status).toBe(200);

      const upAt = Date.now();
      db!.start();
      const postgresUpMs = Date.now() - upAt;
      await waitForHttp(`${proc.url}/readyz`, 60_000, proc);
      const readyMs = Date.now() - upAt - postgresUpMs;
      const ok = await createTask('after postgres came up');
      expect(ok.status).toBe(200);
      expect(proc.child.exitCode).toBeNull(); // the same process throughout

      // Reaching Postgres is what lets the role check run; an unsafe role is then refused, not retried.
      const exitCode = await eventually(
        async () => unsafe!.child.exitCode,
        (code) => code !== null,
        30_000,
        'the unsafe-role process to exit',
      );
      expect(exitCode).toBe(1);
      expect(readFileSync(unsafe!.logFile, 'utf8')).toMatch(/refusing to start: DATABASE_URL connects as role/);
      console.log(
        `start without postgres: refused in ${refused.ms.toFixed(0)} ms (${refused.code}); postgres up took ${postgresUpMs} ms; operations ready ${readyMs} ms after that; write → ${ok.status}; unsafe role → exit ${exitCode}`,
      );
    },
  );
});
