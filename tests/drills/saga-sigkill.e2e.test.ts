import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SagaRegistry } from '../../services/operations/src/domain/sagas/definition.js';
import { startSaga } from '../../services/operations/src/domain/saga-instances.js';
import { testDeps, user } from '../../services/operations/test/support/callers.js';
import { migratedScratchDb, ROOT, type ScratchDb } from '../../services/operations/test/support/scratch.js';
import { EFFECTS_DDL, effectsSaga, succeeded, type LogEntry } from '../../services/operations/test/support/test-sagas.js';

// Drill: 200 three-step sagas (a third of them failing at a random step, so they compensate) while
// the operations saga replica is killed with SIGKILL at random moments and restarted. Pass: every
// saga ends completed or compensated, and no step is applied twice (one effect row per step, and
// exactly the expected succeeded entries in each step log).
const SAGAS = 200;
const LEASE_MS = 1_000;
let s: ScratchDb;
const children: ChildProcess[] = [];

beforeAll(async () => {
  s = await migratedScratchDb('drill_saga_kill');
  await s.admin.query(EFFECTS_DDL);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await s?.drop();
});

function startReplica(name: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=@platform/source', '--import', 'tsx', path.join(ROOT, 'services/operations/test/fixtures/saga-worker.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: s.appUrl, EFFECTS_DATABASE_URL: s.adminUrl, INSTANCE_ID: name, SAGA_LEASE_MS: String(LEASE_MS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.once('exit', (code, signal) => signal !== 'SIGKILL' && reject(new Error(`replica ${name} exited with ${code}`)));
  });
}
const kill = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGKILL'))));
const finished = async (ids: string[]) =>
  Number(
    (
      await s.admin.query(
        `SELECT count(*) AS n FROM saga_instances WHERE id = ANY($1::uuid[]) AND status IN ('completed','compensated','failed')`,
        [ids],
      )
    ).rows[0].n,
  );

it('every saga completes or compensates, no step twice, across random SIGKILLs', { timeout: 300_000 }, async () => {
  const deps = testDeps(s, { registry: new SagaRegistry([effectsSaga(s.admin)]) });
  const plans = Array.from({ length: SAGAS }, (_, i) => (i % 3 === 0 ? { stepMs: 30, failAt: i % 2 === 0 ? 1 : 2 } : { stepMs: 30 }));
  const started = await Promise.all(plans.map((payload) => startSaga(deps, user('drill'), { sagaType: 'effects', payload })));
  const ids = started.map((x) => x.id);

  const t0 = Date.now();
  let kills = 0;
  while ((await finished(ids)) < SAGAS && kills < 10) {
    const replica = await startReplica(`replica-${kills}`);
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 1_200)); // a random point in the run
    await kill(replica);
    kills++;
  }
  const last = await startReplica('replica-final');
  const deadline = Date.now() + 120_000;
  while ((await finished(ids)) < SAGAS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await kill(last);

  const rows = (
    await s.admin.query<{ id: string; status: string; step_log: LogEntry[] }>(
      `SELECT id, status, step_log FROM saga_instances WHERE id = ANY($1::uuid[])`,
      [ids],
    )
  ).rows;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const effects = new Map(
    (
      await s.admin.query<{ saga_id: string; n: number; runs: number }>(
        `SELECT saga_id, count(*)::int AS n, sum(attempts)::int AS runs FROM saga_effects WHERE saga_id = ANY($1::uuid[]) GROUP BY saga_id`,
        [ids],
      )
    ).rows.map((r) => [r.saga_id, r]),
  );
  let completed = 0;
  let compensated = 0;
  let reruns = 0;
  started.forEach(({ id }, i) => {
    const r = byId.get(id)!;
    const plan = plans[i]!;
    if ('failAt' in plan) {
      expect(r.status, id).toBe('compensated');
      const done = ['reserve', 'charge', 'ship'].slice(0, plan.failAt);
      expect(succeeded(r.step_log), id).toEqual([
        ...done.map((d) => `action:${d}`),
        ...[...done].reverse().map((d) => `compensation:${d}`),
      ]);
      expect(effects.get(id)?.n ?? 0, id).toBe(done.length * 2);
      compensated++;
    } else {
      expect(r.status, id).toBe('completed');
      expect(succeeded(r.step_log), id).toEqual(['action:reserve', 'action:charge', 'action:ship']);
      expect(effects.get(id)?.n, id).toBe(3);
      completed++;
    }
    reruns += (effects.get(id)?.runs ?? 0) - (effects.get(id)?.n ?? 0);
  });
  console.log(
    `drill saga-sigkill: ${SAGAS} sagas, ${kills} SIGKILLs, ${completed} completed + ${compensated} compensated in ${Date.now() - t0} ms; ${reruns} step re-runs after kills, each absorbed by its idempotency key (0 steps applied twice)`,
  );
});
