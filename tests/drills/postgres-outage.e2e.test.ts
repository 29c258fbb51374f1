import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { serviceEnv, spawnService, waitForHttp, type ServiceProcess } from '../../scripts/lib/processes.js';
import { tokenFor } from '../../scripts/lib/test-system.js';
import { percentile, type PrivateNats, startPrivateNats } from '@platform/testkit';
import { callProcedure } from '../lib/http-call.js';
import { startPrivatePostgres, type PrivatePostgres } from '@platform/testkit';

// Drill: Postgres stops for 5 s under write load. Pass: writes fail fast with a typed error while
// it is down, succeed again without restarting the service, no acknowledged write is lost, and
// the outbox drains afterwards.
const ports = { knowledge: 4259, operations: 4251, coordination: 4258 };
let db: PrivatePostgres;
let nats: PrivateNats;
let operations: ServiceProcess;

beforeAll(async () => {
  db = startPrivatePostgres(55491);
  db.migrate();
  // Its own NATS too: an operations on a private database must not publish into (or resync the team
  // directory of) the shared server, where it would overwrite what the shared operations published.
  nats = await startPrivateNats({ port: 4487, as: 'platform' });
  const natsEnv = { NATS_URL: nats.url, NATS_USER: nats.user, NATS_PASSWORD: nats.password };
  operations = spawnService(
    'operations',
    serviceEnv('operations', ports, { DATABASE_URL: db.databaseUrl, ...natsEnv, LOG_LEVEL: 'warn' }),
    'drill-operations',
  );
  await waitForHttp(`${operations.url}/readyz`, 60_000, operations);
});
afterAll(async () => {
  await operations?.stop();
  db?.destroy();
  await nats?.destroy();
});

it('rides out a 5 s Postgres outage under write load', { timeout: 180_000 }, async () => {
  const token = await tokenFor({ kind: 'user', id: 'drill-writer', roles: [] });
  const results: Array<{ title: string; ok: boolean; code: string | null; ms: number; at: number }> = [];
  const t0 = Date.now();
  let stoppedAt = 0;
  let restartedAt = 0;
  let n = 0;
  const writer = async () => {
    while (Date.now() - t0 < 14_000) {
      const title = `drill-pg ${n++}`;
      const r = await callProcedure(ports, { service: 'operations', path: 'tasks.create', type: 'mutation' }, { title }, token);
      results.push({ title, ok: r.status === 200, code: r.code, ms: r.ms, at: Date.now() - t0 });
      if (r.status !== 200) await new Promise((res) => setTimeout(res, 100));
    }
  };
  const outage = (async () => {
    await new Promise((r) => setTimeout(r, 3_000));
    db.stop();
    stoppedAt = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 5_000));
    db.start();
    restartedAt = Date.now() - t0;
  })();
  await Promise.all([writer(), writer(), writer(), writer(), outage]);

  const failed = results.filter((r) => !r.ok);
  const acknowledged = results.filter((r) => r.ok);
  const firstAfter = acknowledged.find((r) => r.at > restartedAt);
  // Every acknowledged write is in the database, and the outbox drains.
  // The owner sees the RLS tables only with the break-glass setting (FORCE row-level security).
  const client = new pg.Client({ connectionString: db.adminUrl, options: '-c app.owner_bypass=on' });
  await client.connect();
  try {
    const stored = new Set(
      (await client.query<{ title: string }>(`SELECT title FROM tasks WHERE title LIKE 'drill-pg %'`)).rows.map((r) => r.title),
    );
    const lost = acknowledged.filter((r) => !stored.has(r.title));
    let pending = -1;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && pending !== 0) {
      pending = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0]!.n);
      if (pending) await new Promise((r) => setTimeout(r, 250));
    }
    const codes = [...new Set(failed.map((f) => f.code))];
    console.log(
      `drill postgres-outage: ${acknowledged.length} writes acknowledged, ${failed.length} refused while down (codes ${codes.join(', ')}; ` +
        `p95 ${percentile(
          failed.map((f) => f.ms),
          95,
        ).toFixed(0)} ms, max ${Math.max(...failed.map((f) => f.ms)).toFixed(0)} ms), ` +
        `down ${stoppedAt}→${restartedAt} ms, first write after restart at +${firstAfter ? firstAfter.at - restartedAt : 'never'} ms, lost ${lost.length}, outbox pending ${pending}`,
    );
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((f) => f.code !== null && f.ms < 5_000)).toBe(true);
    expect(firstAfter).toBeDefined();
    expect(lost).toEqual([]);
    expect(pending).toBe(0);
  } finally {
    await client.end();
  }
});
